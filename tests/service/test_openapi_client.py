"""The OpenAPI document serves a generated client, its examples are docs/api.md's, and
its reference pages work offline.

* The examples in the document (``engine/static/openapi-examples.json``) are the HTTP
  exchanges of docs/api.md, request bodies and answers, and each validates against the
  schema the document gives for it. After editing those exchanges, rewrite the file
  with ``python tests/service/test_openapi_client.py --write-examples``.
* The security scheme (HTTP bearer) is declared and every ``/v1/`` operation shows it.
* ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) load only URLs of the server itself,
  and each of those answers 200: no CDN, so they render offline.
* ``openapi-python-client`` generates a client from the ``/openapi.json`` a live
  ``followup serve`` serves; the client, imported from a temporary directory, audits,
  checks and asks for an agenda on that server, and its typed results carry the
  decision and the findings.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
for _path in (str(ROOT), str(ROOT / "tests")):
    if _path not in sys.path:  # also run as a script (--write-examples)
        sys.path.insert(0, _path)

from .live import live_server
from engine.openapi import EXAMPLES_FILE, SECURITY_SCHEME  # noqa: E402
from engine.server import create_app  # noqa: E402

# --------------------------------------------------------------------------- examples from docs/api.md


def _summary(text: str, before_line: int) -> str:
    """The first clause of the prose just before line ``before_line`` of docs/api.md."""
    lines = text.splitlines()[:before_line - 1]
    paragraph: list[str] = []
    for line in reversed(lines):
        if line.startswith("```"):
            break
        if not line.strip():
            if paragraph:
                break
            continue
        if line.startswith("#"):
            break
        paragraph.insert(0, line.strip())
    prose = re.sub(r"\s+", " ", " ".join(paragraph))
    return re.split(r"(?<=[a-z0-9`)])[.:;](?:\s|$)|, (?:located|wrong)| \(", prose)[0].strip()


def examples_from_docs() -> dict:
    """``{path: {method: {"request": {...}, "responses": {status: {...}}}}}`` from the
    HTTP exchanges of docs/api.md (excerpts and bodies that are not JSON left out)."""
    from service.test_api_docs import DOC, EXCHANGES, _split

    text = DOC.read_text(encoding="utf-8")
    out: dict = {}
    counts: dict = {}
    for exchange in EXCHANGES:
        start, _, body = _split(exchange.request)
        method, path, _ = start.split(" ")
        status_line, _, answer = _split(exchange.response)
        status = status_line.split(" ")[1]
        summary = _summary(text, exchange.request.line) or f"{method} {path}"
        entry = out.setdefault(path, {}).setdefault(method.lower(), {})
        try:
            value = json.loads(body) if method == "POST" else None
        except ValueError:
            value = None  # e.g. "(3,000,000 bytes)"
        endpoint = path.rstrip("/").rsplit("/", 1)[-1]
        key = (path, status)
        counts[key] = counts.get(key, 0) + 1
        name = f"{endpoint}-{status}" + (f"-{counts[key]}" if counts[key] > 1 else "")
        if value is not None and status == "200":
            entry.setdefault("request", {})[name] = {"summary": summary, "value": value}
        try:
            shown = json.loads(answer)
        except ValueError:
            continue  # not a JSON answer (e.g. the Prometheus text format)
        if "excerpt" not in exchange.response.info.split(" "):
            entry.setdefault("responses", {}).setdefault(status, {})[name] = {"summary": summary, "value": shown}
    return out


def test_the_documents_examples_are_the_exchanges_of_docs_api_md():
    written = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    assert written == examples_from_docs(), (
        "engine/static/openapi-examples.json differs from docs/api.md's exchanges; rewrite it with "
        "`python tests/service/test_openapi_client.py --write-examples`")


# --------------------------------------------------------------------------- the document


@pytest.fixture(scope="module")
def doc() -> dict:
    with TestClient(create_app(engine="reference", workers=1)) as c:
        response = c.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _validator(doc: dict, schema: dict) -> Draft202012Validator:
    registry = Registry().with_resource("urn:followup:openapi", Resource.from_contents(doc, DRAFT202012))
    ref = schema["$ref"]
    return Draft202012Validator({"$ref": "urn:followup:openapi" + ref}, registry=registry)


def test_every_example_validates_against_the_schema_it_is_given_for(doc):
    seen = {"request": 0, "response": 0}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            for name, example in body.get("examples", {}).items():
                errors = list(_validator(doc, body["schema"]).iter_errors(example["value"]))
                assert not errors, (path, name, [e.message for e in errors])
                assert example["summary"], (path, name)
                seen["request"] += 1
            for status, answer in op["responses"].items():
                content = answer.get("content", {}).get("application/json", {})
                for name, example in content.get("examples", {}).items():
                    errors = list(_validator(doc, content["schema"]).iter_errors(example["value"]))
                    assert not errors, (path, status, name, [e.message for e in errors])
                    seen["response"] += 1
    # audit, check (deny and allow), agenda; their answers, the errors, health
    assert seen["request"] >= 4 and seen["response"] >= 8, seen
    check = doc["paths"]["/v1/check"]["post"]
    assert set(check["requestBody"]["content"]["application/json"]["examples"]) == {"check-200", "check-200-2"}
    assert "422" in {s for s, a in check["responses"].items() if a["content"]["application/json"].get("examples")}


def test_the_security_scheme_is_http_bearer_and_every_v1_operation_shows_it(doc):
    assert doc["components"]["securitySchemes"][SECURITY_SCHEME] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"][SECURITY_SCHEME][
            "description"]}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            if path.startswith("/v1/"):
                # a server without tenants takes requests without a key too: the empty requirement
                assert op["security"] == [{SECURITY_SCHEME: []}, {}], (method, path)
                assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorResponse"}
            else:
                assert "security" not in op, (method, path)


def test_a_server_that_requires_keys_says_so():
    app = create_app(engine="reference", workers=1)
    app.state.require_auth = True
    ops = [op for path, methods in app.openapi()["paths"].items() if path.startswith("/v1/") for op in
           methods.values()]
    assert ops and all(op["security"] == [{SECURITY_SCHEME: []}] for op in ops)


# --------------------------------------------------------------------------- the reference pages


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_reference_pages_load_only_the_servers_own_urls_and_each_answers_200(page):
    with TestClient(create_app(engine="reference", workers=1)) as c:
        response = c.get(page)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        links = _Links()
        links.feed(response.text)
        # the inline script of Swagger UI names the document by its url
        urls = links.urls + re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", " ".join(links.scripts))
        assert "/openapi.json" in urls and any(u.endswith(".js") for u in urls), urls
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url}"
            assert c.get(url).status_code == 200, url
        assert not re.search(r"https?://", response.text), "the page names another host"


def test_the_swagger_ui_served_reads_openapi_3_1():
    """Swagger UI before 5 shows "Unable to render this definition" for an OpenAPI 3.1
    document; swagger-ui-bundle-v2 ships 5 (the old swagger-ui-bundle, 4.15)."""
    from swagger_ui_bundle import swagger_ui_path
    version = re.fullmatch(r"swagger-ui-(\d+)\.(\d+)\.(\d+)", Path(str(swagger_ui_path)).name)
    assert version and int(version[1]) >= 5, f"{swagger_ui_path}: pip install 'swagger-ui-bundle-v2>=5'"
    assert create_app(engine="reference", workers=1).openapi()["openapi"].startswith("3.1")


def test_the_assets_are_served_with_their_types_and_nothing_else_is():
    with TestClient(create_app(engine="reference", workers=1)) as c:
        js = c.get("/docs/assets/redoc.standalone.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert hashlib.sha256(js.content).hexdigest() == \
            "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b", "see engine/static/redoc/README.md"
        assert c.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
        for name in ("index.html", "swagger-initializer.js", "..%2fopenapi.py", "LICENSE"):
            missing = c.get(f"/docs/assets/{name}")
            assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "request.not-found", name


# --------------------------------------------------------------------------- a generated client, live

from service.payloads import example_timeline  # noqa: E402

AUDIT = {"timeline": example_timeline("over-eager"), "as_of": "2026-04-14T00:00:00Z"}
CHECK = {"timeline": example_timeline("over-eager"),
         "action": {"type": "status_inquiry", "to": "nadia", "channel": "email"}, "at": "2026-04-08T10:00:00-04:00"}
AGENDA = {"timeline": example_timeline("over-eager"), "as_of": "2026-04-06T15:30:00-04:00"}


@pytest.fixture(scope="module")
def live_url(tmp_path_factory):
    """``followup serve`` (reference engine, one worker) on an ephemeral loopback port;
    stopped (SIGTERM, then SIGKILL) whatever happens."""
    with live_server(tmp_path_factory.mktemp("client"), workers=1) as url:
        yield url


@pytest.fixture(scope="module")
def generated(live_url, tmp_path_factory):
    """The client ``openapi-python-client`` generates from the live server's document,
    imported from a temporary directory (as package ``followup_generated``)."""
    pytest.importorskip("openapi_python_client", reason="pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("generated")
    (out / "openapi.json").write_text(httpx.get(live_url + "/openapi.json", timeout=10).text, encoding="utf-8")
    (out / "config.yaml").write_text("project_name_override: followup-generated\n"
                                     "package_name_override: followup_generated\n"
                                     "post_hooks: []\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "from openapi_python_client.cli import app; app()", "generate",
         "--path", str(out / "openapi.json"), "--config", str(out / "config.yaml"), "--meta", "none",
         "--output-path", str(out / "followup_generated")],
        cwd=out, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        importlib.invalidate_caches()
        package = importlib.import_module("followup_generated")
        yield package
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == "followup_generated" or n.startswith("followup_generated.")]:
            del sys.modules[name]


def test_a_generated_client_audits_checks_and_lists_the_agenda_on_a_live_server(generated, live_url):
    from followup_generated import Client
    from followup_generated.api.decisions import agenda, audit, check
    from followup_generated.api.server import health
    from followup_generated.models import (Agenda, AgendaRequest, AuditReport, AuditRequest, CheckRequest,
                                           CheckResult, ErrorResponse, Finding, Health)

    with Client(base_url=live_url, timeout=httpx.Timeout(30.0), raise_on_unexpected_status=True) as client:
        assert isinstance(health.sync(client=client), Health)

        report = audit.sync(client=client, body=AuditRequest.from_dict(AUDIT))
        assert isinstance(report, AuditReport)
        assert report.as_of == "2026-04-14T00:00:00Z" and report.policy == "etiquette"
        assert all(isinstance(f, Finding) for f in report.findings)
        assert [(f.severity.value, f.rule) for f in report.findings][:2] == [
            ("violation", "inquiry-after-timetable"), ("violation", "preferred-channel")]
        assert report.findings[0].events == ["t1", "q1"] and report.findings[0].contact == "nadia"

        decision = check.sync(client=client, body=CheckRequest.from_dict(CHECK))
        assert isinstance(decision, CheckResult)
        assert decision.decision.value == "deny" and decision.earliest == "2026-04-21T04:00:00Z"
        assert [f.rule for f in decision.findings] == ["inquiry-after-timetable"]
        assert decision.alternatives[0].change.to_dict() == {"at": "2026-04-21T04:00:00Z"}

        items = agenda.sync(client=client, body=AgendaRequest.from_dict(AGENDA))
        assert isinstance(items, Agenda)
        assert items.items and {i.kind.value for i in items.items} <= {"overdue", "due", "inquiry-window",
                                                                      "prohibition"}

        # the typed body round-trips: what the client sends is what the tracker wrote
        assert CheckRequest.from_dict(CHECK).to_dict() == CHECK

        # well-typed, but the time has no offset and the timeline no zone: a located 422
        bad = {"timeline": {"contacts": {"alice": {"name": "Alice Park"}}, "applications": {"acme": {"company": "A"}},
                            "events": [{"id": "i1", "type": "interview", "at": "2026-03-02T10:00:00",
                                        "with": ["alice"]}]},
               "as_of": "2026-03-04T00:00:00Z"}
        response = audit.sync_detailed(client=client, body=AuditRequest.from_dict(bad))
        assert response.status_code == 422
        assert isinstance(response.parsed, ErrorResponse)
        [problem] = response.parsed.errors
        assert (problem.code, problem.path) == ("timeline.invalid", "timeline.events[0].at")
        assert problem.line == 1 and problem.col > 1
        assert re.match(r"^request:1:\d+: error\[timeline\.invalid\]: `events\[0\]\.at`: ", response.parsed.messages[0])


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-examples"]:
        sys.exit("usage: python tests/service/test_openapi_client.py --write-examples")
    EXAMPLES_FILE.write_text(json.dumps(examples_from_docs(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {EXAMPLES_FILE.relative_to(ROOT)}")
