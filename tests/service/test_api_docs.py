"""docs/api.md tells the truth: its examples are run and compared with what they show.

Conventions of docs/api.md (the same as tests/unit/test_docs.py for the other pages,
plus HTTP exchanges):

* ```` ```pycon ```` blocks are doctests, run in order in one namespace from the
  repository root.
* ```` ```console ```` blocks are transcripts: ``$ followup ...`` runs the CLI
  in-process; the lines after it are its stderr, then its stdout; ``$ echo $?`` is
  followed by the previous exit code; ``...`` on a line of its own stands for any lines.
* ```` ```http ```` blocks come in pairs: a request (``METHOD PATH HTTP/1.1``, headers,
  a blank line, the body exactly as sent) and then its response (``HTTP/1.1 STATUS
  ...``, headers, a blank line, the JSON body). The request is replayed against
  ``create_app(engine="reference")``; the status and the JSON must be equal. In a
  response block marked ``http excerpt``, a list shows some of the real items (in
  order), and a string that starts or ends with ``...`` shows the rest of the real
  text. A request with a ``Content-Length`` header and a body that is not JSON sends
  that many bytes.

The tracker-client output and the server log are checked against a real server in
test_server_e2e.py.
"""

from __future__ import annotations

from transcripts import matches

import doctest
import json
import re
import shlex
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine.cli import main
from engine.server import create_app

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    line: int
    info: str
    body: str

    @property
    def lang(self) -> str:
        return self.info.split(" ")[0] if self.info else ""

    def __str__(self) -> str:
        return f"docs/api.md:{self.line}"


def blocks() -> list[Block]:
    text = DOC.read_text(encoding="utf-8")
    return [Block(text.count("\n", 0, m.start()) + 1, m.group(1).strip(), m.group(2)) for m in _FENCE.finditer(text)]


def titled(title: str) -> Block:
    [block] = [b for b in blocks() if f'title="{title}"' in b.info]
    return block


def test_the_page_exists_and_covers_the_api():
    text = DOC.read_text(encoding="utf-8")
    for name in ("load_timeline", "load_policy", "audit", "check", "agenda", "PlannedAction", "CheckResult",
                 "Agenda", "AgendaItem", "Alternative", "Finding", "/v1/audit", "/v1/check", "/v1/agenda",
                 "/v1/policies", "/healthz", "/docs", "followup serve", "--policies", "--engine", "errors",
                 "messages", "IsolatedBackend", "tracker_client.py"):
        assert name in text, name


# --------------------------------------------------------------------------- pycon


def test_python_examples_run(monkeypatch):
    """The pycon blocks run in order, in one namespace, like a reader's session."""
    monkeypatch.chdir(ROOT)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    namespace: dict = {}
    failures: list[str] = []
    pycon = [b for b in blocks() if b.lang == "pycon"]
    assert len(pycon) >= 5
    for block in pycon:
        test = parser.get_doctest(block.body, namespace, str(block), str(DOC), block.line)
        assert test.examples, f"{block}: a pycon block without examples"
        runner.run(test, out=failures.append, clear_globs=False)
        namespace = test.globs
    assert runner.failures == 0, "".join(failures)


# --------------------------------------------------------------------------- console




CONSOLE = [b for b in blocks() if b.lang == "console"]


@pytest.mark.parametrize("block", CONSOLE, ids=str)
def test_console_transcripts_are_real(block, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    commands: list[tuple[list[str], list[str]]] = []
    for line in block.body.splitlines():
        if line.startswith("$ "):
            commands.append((shlex.split(line[2:]), []))
        else:
            assert commands, f"{block}: output before the first command"
            commands[-1][1].append(line.rstrip())
    last = None
    for argv, expected in commands:
        if argv == ["echo", "$?"]:
            assert expected == [str(last)], f"{block}: exit code was {last}, the docs say {expected}"
            continue
        assert argv[0] == "followup", argv
        last = main(argv[1:])
        out, err = capsys.readouterr()
        actual = [ln.rstrip() for ln in err.splitlines() + out.splitlines()]
        assert matches(expected, actual), (f"{block}: `{shlex.join(argv)}` printed:\n" + "\n".join(actual)
                                            + "\n--- but the docs show:\n" + "\n".join(expected))


# --------------------------------------------------------------------------- http


@dataclass
class Exchange:
    request: Block
    response: Block


def exchanges() -> list[Exchange]:
    http = [b for b in blocks() if b.lang == "http"]
    pairs = []
    for first, second in zip(http[::2], http[1::2]):
        pairs.append(Exchange(first, second))
    return pairs


def _split(block: Block) -> tuple[str, dict[str, str], str]:
    head, _, body = block.body.partition("\n\n")
    lines = head.splitlines()
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


#: fields whose value differs from run to run (a fresh UUID) or with every edit of a policy (its
#: content hash): the docs show an example value, the server's must have the same form
_VARYING = {"decision_id": re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
            "policy_revision": re.compile(r"^sha256:[0-9a-f]{64}$"), "revision": re.compile(r"^sha256:[0-9a-f]{64}$")}


def _shown(shown, actual, excerpt: bool, where: str = "") -> None:
    """Assert that ``shown`` (from the docs) is ``actual``, or an excerpt of it."""
    if isinstance(shown, dict):
        assert isinstance(actual, dict) and set(shown) == set(actual), f"{where}: keys {set(shown)} vs {set(actual)}"
        for key in shown:
            if key in _VARYING and isinstance(shown[key], str):
                for value in (shown[key], actual[key]):
                    assert isinstance(value, str) and _VARYING[key].match(value), f"{where}.{key}: {value!r}"
                continue
            _shown(shown[key], actual[key], excerpt, f"{where}.{key}")
    elif isinstance(shown, list) and excerpt:
        assert isinstance(actual, list), where
        rest = list(actual)
        for i, item in enumerate(shown):
            for j, candidate in enumerate(rest):
                try:
                    _shown(item, candidate, excerpt, f"{where}[{i}]")
                except AssertionError:
                    continue
                rest = rest[j + 1:]
                break
            else:
                raise AssertionError(f"{where}[{i}]: {item!r} is not in the real list {actual!r}")
    elif isinstance(shown, list):
        assert isinstance(actual, list) and len(shown) == len(actual), f"{where}: {shown!r} vs {actual!r}"
        for i, (a, b) in enumerate(zip(shown, actual)):
            _shown(a, b, excerpt, f"{where}[{i}]")
    elif excerpt and isinstance(shown, str) and shown.endswith("...") and isinstance(actual, str):
        assert actual.startswith(shown[:-3]), f"{where}: {actual!r} does not start with {shown[:-3]!r}"
    elif excerpt and isinstance(shown, str) and shown.startswith("...") and isinstance(actual, str):
        assert actual.endswith(shown[3:]), f"{where}: {actual!r} does not end with {shown[3:]!r}"
    else:
        assert shown == actual, f"{where}: the docs show {shown!r}, the server answers {actual!r}"


EXCHANGES = exchanges()


def test_http_blocks_come_in_request_response_pairs():
    http = [b for b in blocks() if b.lang == "http"]
    assert len(http) % 2 == 0 and len(EXCHANGES) >= 9
    for exchange in EXCHANGES:
        assert re.match(r"^(GET|POST) /\S* HTTP/1\.1$", _split(exchange.request)[0]), exchange.request
        assert re.match(r"^HTTP/1\.1 \d{3} ", _split(exchange.response)[0]), exchange.response


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(engine="reference")) as c:
        yield c


@pytest.mark.parametrize("exchange", EXCHANGES, ids=lambda e: str(e.request))
def test_http_exchanges_are_real(client, exchange):
    start, headers, body = _split(exchange.request)
    method, path, _ = start.split(" ")
    if method == "GET":
        response = client.get(path)
    else:
        try:
            json.loads(body)
            content = body.encode("utf-8")
        except ValueError:
            assert "content-length" in headers, f"{exchange.request}: a body that is not JSON needs a Content-Length"
            content = b" " * int(headers["content-length"])
        response = client.post(path, content=content, headers={"content-type": headers.get("content-type", "")})
    status_line, response_headers, response_body = _split(exchange.response)
    status = int(status_line.split(" ")[1])
    assert response.status_code == status, f"{exchange.response}: {response.status_code} {response.text}"
    assert response.headers["content-type"] == response_headers["content-type"]
    excerpt = "excerpt" in exchange.response.info.split(" ")
    _shown(json.loads(response_body), response.json(), excerpt, str(exchange.response))
