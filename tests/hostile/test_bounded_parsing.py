"""Every document is hostile: parsing is bounded (size, depth, expanded nodes, numbers, tags,
events), fast (json.loads or libyaml, the location-recording pass only for errors), and the
fast path reads exactly what the located one does.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import warnings

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():  # some starlette versions warn that their TestClient's httpx use is deprecated
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from engine import source
from engine.cli import main
from engine.errors import InputError, Loc
from engine.limits import DEFAULT_LIMITS, MAX_INT_DIGITS, Limits
from engine.server import create_app
from engine.source import Document, load_document, parse_document, parse_located, read_document
from engine.timeline import timeline_from_data

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
AS_OF = "--as-of=2026-03-20T00:00:00Z"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(engine="reference")) as c:
        yield c


def problems(text: str, limits: Limits = DEFAULT_LIMITS, name: str = "t.yaml") -> list[str]:
    with pytest.raises(InputError) as exc:
        parse_document(text, name, limits)
    return [str(p) for p in exc.value.problems]


def codes(call) -> list[str]:
    with pytest.raises(InputError) as exc:
        call()
    return [p.code for p in exc.value.problems]


def laughs(levels: int, fan: int = 9) -> str:
    """The classic "billion laughs": each level a list of ``fan`` aliases to the one before."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = ["a: &a [" + ",".join(["lol"] * fan) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"{names[i]}: &{names[i]} [" + ",".join([f"*{names[i - 1]}"] * fan) + "]")
    return "\n".join(lines) + "\n"


# -- 1. alias expansion --------------------------------------------------------------------


def test_the_400_byte_billion_laughs_is_refused_at_the_alias_that_passes_the_node_budget():
    text = laughs(8)
    assert len(text) < 400
    [line] = problems(text)
    # g expands to 9**7 > 1,000,000 nodes: the document passes the budget at one of g's aliases
    assert line.startswith("t.yaml:7:8: error[input.too-many-nodes]: the document has more than 1000000 nodes")


def test_the_node_budget_counts_expanded_aliases_and_is_a_limit():
    text = laughs(3)  # a3 = 9 lists of 9 lists of 9 lists of 9 scalars, plus the lists
    limits = Limits(max_nodes=1_000)
    assert codes(lambda: parse_document(text, "t", limits)) == ["input.too-many-nodes"]
    data = parse_document(text, "t", Limits(max_nodes=10_000)).data
    assert data["d"][8][8][8] == ["lol"] * 9


def test_a_billion_laughs_request_body_is_refused_with_422(client):
    response = client.post("/v1/audit", content=laughs(8), headers={"content-type": "application/json"})
    assert response.status_code in (415, 422)  # a YAML body may be refused as such, never expanded
    if response.status_code == 422:
        assert [e["code"] for e in response.json()["errors"]] == ["input.too-many-nodes"]


def test_an_alias_inside_its_own_anchor_is_refused_not_followed():
    assert problems("a: &x [1, *x]\n") == [
        "t.yaml:1:11: error[input.too-many-nodes]: alias `*x` is inside the node it stands for, "
        "which would expand forever"]


def test_aliases_still_work_and_are_located_where_the_anchor_wrote_them():
    text = "a: &x {b: 1, c: [2]}\nd: *x\n"
    doc = parse_document(text, "t.yaml")
    assert doc.data == {"a": {"b": 1, "c": [2]}, "d": {"b": 1, "c": [2]}}
    assert str(doc.loc_of(("d", "c", 0))) == "t.yaml:1:18"
    assert str(doc.loc_of(("d", "b"), key=True)) == "t.yaml:1:8"


def test_undefined_and_duplicate_anchors_are_located_syntax_errors():
    assert problems("a: *nope\n") == ["t.yaml:1:4: error[yaml.syntax]: malformed YAML/JSON: undefined alias `*nope`"]
    assert problems("a: &x 1\nb: &x 2\n") == [
        "t.yaml:2:4: error[yaml.syntax]: malformed YAML/JSON: duplicate anchor `&x`"]


# -- 2. nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, where", [
    ("[" * 10_000 + "]" * 10_000, "1:65"),
    ('{"a": ' * 10_000 + "1" + "}" * 10_000, "1:385"),
    ("".join(" " * i + "- \n" for i in range(1_000)), "65:65"),
])
def test_deep_nesting_is_refused_at_the_first_level_past_the_limit(text, where):
    [line] = problems(text)
    assert line == (f"t.yaml:{where}: error[input.too-deep]: mappings and sequences are nested deeper than "
                    "the limit of 64 levels")


def test_sixty_four_levels_are_accepted_and_sixty_five_are_not():
    data = parse_document("[" * 64 + "]" * 64, "t").data
    for _ in range(63):
        data = data[0]
    assert data == []
    assert codes(lambda: parse_document("[" * 65 + "]" * 65, "t")) == ["input.too-deep"]
    assert codes(lambda: parse_document("[" * 5 + "]" * 5, "t", Limits(max_depth=4))) == ["input.too-deep"]


def test_a_16_mib_file_of_brackets_is_refused_as_too_deep(tmp_path):
    path = tmp_path / "brackets.json"
    path.write_text("[" * DEFAULT_LIMITS.max_bytes)
    with pytest.raises(InputError) as exc:
        load_document(path)
    assert [str(p) for p in exc.value.problems] == [
        f"{path}:1:65: error[input.too-deep]: mappings and sequences are nested deeper than the limit of 64 levels"]


def test_aliases_cannot_nest_deeper_than_the_limit():
    inner = "[" * 40 + "]" * 40
    text = f"a: &x {inner}\nb: {'[' * 30}*x{']' * 30}\n"
    [line] = problems(text)
    assert line.startswith("t.yaml:2:34: error[input.too-deep]: alias `*x` nests mappings and sequences deeper")


def test_a_deep_json_request_body_is_422_not_500(client):
    response = client.post("/v1/audit", content="[" * 100_000, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["input.too-deep"]


# -- 3. files, stdin, pipes and devices -----------------------------------------------------


def test_a_device_is_read_only_up_to_the_limit():
    limits = Limits(max_bytes=1_000)
    with pytest.raises(InputError) as exc:
        read_document("/dev/zero", limits=limits)
    assert [str(p) for p in exc.value.problems] == [
        "/dev/zero: error[input.too-large]: the input is larger than the limit of 1000 bytes"]


def test_a_never_ending_pipe_stops_at_the_limit(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    stopped = []

    def write() -> None:
        with open(fifo, "wb") as fh:
            try:
                for _ in range(10_000):  # 640 MB at most; the reader stops after 4 kB
                    fh.write(b"a: b\n" * 13_000)
            except BrokenPipeError:
                stopped.append(True)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert codes(lambda: read_document(fifo, limits=Limits(max_bytes=4_096))) == ["input.too-large"]
    finally:
        writer.join()
    assert stopped == [True]


def test_a_regular_file_over_the_limit_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 300)
    with pytest.raises(InputError) as exc:
        read_document(path, limits=Limits(max_bytes=1_000))
    assert [str(p) for p in exc.value.problems] == [
        f"{path}: error[input.too-large]: the file is 1500 bytes; the limit is 1000 bytes"]


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_dash_reads_a_timeline_from_stdin_named_stdin_in_locations(monkeypatch, capsys):
    _stdin(monkeypatch, (EXAMPLES / "complete.timeline.yaml").read_bytes())
    assert main(["audit", "-", AS_OF, "--format", "json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)
    _stdin(monkeypatch, b"candidate: x\nevents: [\n")
    assert main(["agenda", "-", AS_OF]) == 2
    assert capsys.readouterr().err.startswith("<stdin>:3:1: error[yaml.syntax]")


def test_stdin_is_read_only_up_to_max_bytes(monkeypatch, capsys):
    _stdin(monkeypatch, b"# padding\n" * 1_000)
    assert main(["check", "-", "--action", "{}", "--at=2026-03-20T00:00:00Z", "--max-bytes", "5000"]) == 2
    assert capsys.readouterr().err == \
        "<stdin>: error[input.too-large]: the input is larger than the limit of 5000 bytes\n"


def test_dev_stdin_fed_by_a_pipe_obeys_the_limit():
    """``/dev/stdin`` has size 0 to ``getsize``: only a bounded read catches it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "engine.cli", "agenda", "/dev/stdin", AS_OF, "--max-bytes", "1000"],
                         input=b"# padding\n" * 200, capture_output=True, env=env, cwd=ROOT, check=False)
    assert run.returncode == 2
    assert run.stderr.decode() == \
        "/dev/stdin: error[input.too-large]: the input is larger than the limit of 1000 bytes\n"


@pytest.mark.parametrize("argv, message", [
    (["audit", "x.yaml", "--max-bytes", "0"], "argument --max-bytes: `0` must be at least 1"),
    (["agenda", "x.yaml", "--max-events", "ten"], "argument --max-events: `ten` is not a whole number"),
])
def test_bad_limit_options_are_one_line_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err == f"followup {argv[0]}: error: {message}\n"


# -- 4. tags -----------------------------------------------------------------------------


@pytest.mark.parametrize("tagged, shown", [
    ("!foo bar", "!foo"),
    ("!!binary aGVsbG8=", "!!binary"),
    ("!!python/object:os.system {}", "!!python/object:os.system"),
    ("!!python/object/apply:os.system [echo hi]", "!!python/object/apply:os.system"),
    ("!!set {x, y}", "!!set"),
    ("!!omap [a: 1]", "!!omap"),
    ("!!pairs [a: 1]", "!!pairs"),
    ("!local {a: 1}", "!local"),
])
def test_tags_outside_the_core_schema_are_located_errors(tagged, shown):
    assert problems(f"candidate: x\nnote: {tagged}\n") == [
        f"t.yaml:2:7: error[yaml.unsupported-tag]: unsupported tag `{shown}`; only the core schema is accepted "
        "(str, int, float, bool, null, seq, map)"]


def test_core_tags_are_read_as_their_type():
    text = ("s: !!str 12\ni: !!int '12'\nf: !!float 1\nb: !!bool TRUE\nn: !!null ~\nm: !!map {a: 1}\n"
            "q: !!seq [1]\nplain: ! 12\nts: !!timestamp 2026-03-02\n")
    assert parse_document(text, "t").data == {"s": "12", "i": 12, "f": 1.0, "b": True, "n": None, "m": {"a": 1},
                                              "q": [1], "plain": "12", "ts": "2026-03-02"}


@pytest.mark.parametrize("tagged", ["!!int abc", "!!float x", "!!bool yes", "!!null x", "!!str {a: 1}", "!!map [1]"])
def test_core_tags_on_values_they_cannot_tag_are_located_errors(tagged):
    [line] = problems(f"a: {tagged}\n")
    assert line.startswith("t.yaml:1:4: error[yaml.tag-mismatch]: ")


# -- 5. numbers ------------------------------------------------------------------------------


def test_a_5000_digit_integer_is_refused_located():
    assert problems("candidate: x\nround: " + "9" * 5_000 + "\n") == [
        "t.yaml:2:8: error[input.number-too-large]: an integer of 5000 digits is too large; the limit is 20 digits"]


def test_integers_have_at_most_20_digits_sign_and_underscores_not_counted():
    assert parse_document(f"a: -{'9' * MAX_INT_DIGITS}\nb: 1_000_000\n", "t").data == {"a": -int("9" * 20),
                                                                                        "b": 1_000_000}
    assert codes(lambda: parse_document("a: " + "1" * 21, "t")) == ["input.number-too-large"]
    assert codes(lambda: parse_document('{"a": ' + "1" * 21 + "}", "t")) == ["input.number-too-large"]
    assert codes(lambda: parse_document("a: 0x" + "f" * 21, "t")) == ["input.number-too-large"]
    assert codes(lambda: parse_document("1" * 21 + ": a", "t")) == ["input.number-too-large"]


def test_a_5000_digit_integer_in_a_json_body_is_422_located(client):
    body = '{"timeline": {"events": []},\n "as_of": ' + "1" * 5_000 + "}"
    response = client.post("/v1/audit", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["messages"] == [
        "request:2:11: error[input.number-too-large]: an integer of 5000 digits is too large; the limit is 20 digits"]


@pytest.mark.parametrize("text, code", [
    ("a: .inf", "input.number-too-large"), ("a: -.Inf", "input.number-too-large"),
    ("a: 1.0e+400", "input.number-too-large"), ('{"a": 1.5e+999}', "input.number-too-large"),
    ("a: .nan", "input.not-a-number"), ("a: !!float .NaN", "input.not-a-number"),
])
def test_non_finite_floats_are_refused(text, code):
    assert codes(lambda: parse_document(text, "t")) == [code]


# -- 6. events ------------------------------------------------------------------------------


def test_too_many_events_are_refused_before_any_is_validated():
    data = {"candidate": "x", "events": [1] * (DEFAULT_LIMITS.max_events + 1)}
    with pytest.raises(InputError) as exc:
        timeline_from_data(data)
    assert [(p.code, p.path, p.loc) for p in exc.value.problems] == [("timeline.too-many-events", "events", None)]
    assert codes(lambda: timeline_from_data({"events": [1, 2, 3]}, max_events=2)) == ["timeline.too-many-events"]


def test_too_many_events_are_located_at_events(tmp_path, capsys):
    path = tmp_path / "t.yaml"
    path.write_text((EXAMPLES / "complete.timeline.yaml").read_text())
    assert main(["audit", str(path), AS_OF, "--max-events", "5"]) == 2
    assert capsys.readouterr().err == f"{path}:20:1: error[timeline.too-many-events]: the timeline has 19 events; " \
                                      "the limit is 5\n"


def test_too_many_events_inside_a_request_are_located_in_the_body():
    text = '{"timeline": {"candidate": "x",\n  "events": [' + ", ".join(["1"] * 3) + "]}}"
    doc = read_document(text, "request")
    with pytest.raises(InputError) as exc:
        timeline_from_data(doc.data["timeline"], doc, root=("timeline",), max_events=2)
    assert [str(p) for p in exc.value.problems] == [
        "request:2:3: error[timeline.too-many-events]: the timeline has 3 events; the limit is 2"]


# -- 7. fast parsing ------------------------------------------------------------------------


class _Counting:
    """Counts the YAML passes, and the location-recording ones among them."""

    def __init__(self, monkeypatch):
        self.passes: list[bool] = []
        real = source._Builder

        def builder(text, name, limits, record, *args, **kwargs):
            self.passes.append(record)
            return real(text, name, limits, record, *args, **kwargs)

        monkeypatch.setattr(source, "_Builder", builder)


def test_json_is_read_by_json_loads_and_located_only_for_an_error(monkeypatch):
    counting = _Counting(monkeypatch)
    doc = read_document(EXAMPLES / "minimal.timeline.json")
    assert counting.passes == []  # json.loads only
    assert str(doc.loc_of(("events", 0, "at"))) == f"{EXAMPLES / 'minimal.timeline.json'}:6:45"
    assert counting.passes == [True]


def test_yaml_is_read_in_one_pass_and_located_only_for_an_error(monkeypatch):
    counting = _Counting(monkeypatch)
    doc = read_document(EXAMPLES / "complete.timeline.yaml")
    assert counting.passes == [False]
    timeline_from_data(doc.data, doc)
    assert counting.passes == [False]  # valid: no location was asked for
    doc.loc_of(("events", 3))
    doc.loc_of(("events", 4))
    assert counting.passes == [False, True, True]  # a focused pass, then the whole index once
    doc.loc_of(("events", 5))
    assert counting.passes == [False, True, True]


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1e5, "b": 1.0e5, "c": 1.5E+3, "d": -0.0, "e": 10}', {"a": 100000.0, "b": 100000.0, "c": 1500.0,
                                                                 "d": -0.0, "e": 10}),
    ('{"country": "NO", "on": "yes", "at": "2026-03-02T10:00:00Z", "x": "\\u00e9\\/"}',
     {"country": "NO", "on": "yes", "at": "2026-03-02T10:00:00Z", "x": "é/"}),
    ('\ufeff{"a": [true, false, null]}', {"a": [True, False, None]}),
    ('{"a": "\\ud83d\\ude00"}', {"a": "\U0001F600"}),
    ('{\n\t"a":\t[1,\n\t\t2]}', {"a": [1, 2]}),
    ('{"a"\n: 1}', {"a": 1}),
    ('{"' + "k" * 1_100 + '": 1}', {"k" * 1_100: 1}),
])
def test_json_is_read_with_json_semantics(text, expected):
    """A JSON text means what JSON says: exponent numbers are numbers, an escaped surrogate
    pair is one character (what ``json.dumps`` writes for an emoji by default), tabs and
    line breaks between tokens are whitespace."""
    assert repr(read_document(text, "t").data) == repr(expected)


@pytest.mark.parametrize("text, code", [
    ('{"a": 1, "a": 2}', "yaml.duplicate-key"), ('[NaN]', "input.not-a-number"), ('[Infinity]', "input.not-a-number"),
    ('[1e400]', "input.number-too-large"), ('[' + "9" * 25 + ']', "input.number-too-large"),
    ('{"a":\t{"a": 1, "a": 2}}', "yaml.duplicate-key"),
])
def test_json_that_breaks_a_rule_is_refused_with_its_code(text, code):
    assert codes(lambda: read_document(text, "t")) == [code]


@pytest.mark.parametrize("text, path, where", [
    ('{"a": "\\ud83d\\ude00", "b": 1}', ("b",), "t:1:28"),
    ('{\n\t"a": [1,\t"x"]}', ("a", 1), "t:2:11"),
    ('{"a": "x\x7fy\u2028z", "b": 1}', ("b",), "t:1:21"),
    ('{"\\ud83d\\ude00": [1, "x"]}', ("\U0001F600", 1), "t:1:22"),
])
def test_json_values_are_located_where_they_are_written_even_where_yaml_could_not_read_the_text(text, path, where):
    assert str(read_document(text, "t").loc_of(path)) == where


_WORDS = ["NO", "yes", "on", "~", "null", "Null", "1e5", "1.0e5", "1.5E+3", "0x1F", "017", "1:30", "1_000", "-0",
          "+12", ".inf", ".nan", "-.inf", "1.0e+400", "2026-03-02", "2026-03-02T10:00:00Z", "2026-03-02 17:30", "<<",
          "=", "True", "FALSE", "0b101", "NaN", "Infinity", "9" * 21, "9" * 20, "", " ", "a: b", "- x", "#", "'",
          '"', "\\", "\t", "\x7f", "\x85", "\u2028", "\ufeff", "é", "\U0001F600", "k" * 130]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**22, 10**22),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), st.sampled_from(_WORDS))
_keys = st.one_of(st.text(max_size=6), st.sampled_from(_WORDS))
_trees = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(_keys, inner, max_size=4)), max_leaves=20)
_LIMITS = [DEFAULT_LIMITS, Limits(max_depth=3, max_nodes=25), Limits(max_depth=5, max_nodes=60)]


@st.composite
def _documents(draw) -> str:
    """JSON (compact, indented, with tabs, keys far from their colons, escapes or not) and
    YAML (block, flow, anchors and aliases) renderings of hostile trees."""
    tree = draw(st.one_of(st.dictionaries(_keys, _trees, max_size=5), st.lists(_trees, max_size=5)))
    kind = draw(st.sampled_from(["json", "json", "json-odd", "yaml", "yaml-flow", "aliases"]))
    if kind == "json":
        text = json.dumps(tree, indent=draw(st.sampled_from([None, 1, 2])), ensure_ascii=draw(st.booleans()))
    elif kind == "json-odd":
        indent = draw(st.sampled_from(["\t", "\n", " " * 3]))
        colon = draw(st.sampled_from([":", " :", "\n:", "\r\n  :", " " * 300 + ":"]))
        text = json.dumps(tree, indent=indent, separators=(",", colon), ensure_ascii=draw(st.booleans()))
    elif kind in ("yaml", "yaml-flow"):
        text = yaml.safe_dump(tree, default_flow_style=kind == "yaml-flow", allow_unicode=draw(st.booleans()),
                              width=draw(st.sampled_from([20, 80])))
    else:
        inner = json.dumps(tree)
        text = f"a: &x {inner}\nb: *x\nc: [*x, {{d: *x}}]\n"
    if draw(st.booleans()):
        text = draw(st.sampled_from(["\ufeff", " \n", "\r\n"])) + text
    return text


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_documents(), st.sampled_from(_LIMITS))
def test_fast_and_located_parses_give_the_same_data_or_the_same_error_codes(text, limits):
    """Whatever the text: a JSON text (one ``json.loads`` reads) gives exactly ``json.loads``'
    data, types and key order included, or an error of a limit; a YAML text gives exactly
    the data, or exactly the error codes, of the location-recording parse."""

    def outcome(parse):
        try:
            return "data", repr(parse(text, "t", limits).data)
        except InputError as exc:
            return "error", sorted(p.code for p in exc.problems)

    body = text[1:] if text.startswith("\ufeff") else text
    try:
        as_json = json.loads(body) if body.lstrip(" \t\r\n")[:1] in ("{", "[") else None
    except ValueError:
        as_json = None
    if as_json is None:
        assert outcome(read_document) == outcome(parse_located)
        return
    kind, got = outcome(read_document)
    if kind == "data":
        assert got == repr(as_json)
    else:
        assert set(got) <= {"yaml.duplicate-key", "input.number-too-large", "input.not-a-number", "input.too-deep",
                            "input.too-many-nodes"}, got


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_documents(), st.data())
def test_a_focused_lookup_gives_the_location_the_whole_index_gives(text, data):
    """The first ``loc_of`` on a document stops parsing at its target; it must answer what the
    whole index of the same document answers, for values and for keys, aliases included.

    The whole index is the same document's (``full.values`` built first), not
    ``parse_located``'s: for a JSON text both passes read the text made readable to YAML
    (``_for_yaml``: a raw U+2028 in a JSON string is a character, not a line break), which
    ``parse_located``, a YAML pass on the raw text, does not."""
    try:
        full = read_document(text, "t")
        fast = read_document(text, "t")
    except InputError:
        return
    paths = sorted(set(full.values) | set(full.keys), key=repr)  # the whole index, before any lookup
    path = data.draw(st.sampled_from(paths + [("no", "such", "path")]))
    key = data.draw(st.booleans())
    assert fast.loc_of(path, key=key) == full.loc_of(path, key=key)


def test_a_raw_line_separator_in_a_json_string_is_a_character_for_every_lookup():
    """JSON has no line break but ``\\n``: a raw U+2028 inside a string leaves the next value on
    line 1, for the focused lookup and for the whole index (found by the property above)."""
    text = '[{"": "\u2028", "0": null}]'
    focused, whole = read_document(text, "t"), read_document(text, "t")
    whole.values
    assert focused.loc_of((0, "0")) == whole.loc_of((0, "0")) == Loc("t", 1, 17)


def _composer_index(text: str) -> tuple[dict, dict]:
    """Where PyYAML's pure-Python composer puts each value and key (what the located parse
    recorded before it moved to libyaml's events)."""
    values, keys = {}, {}

    def walk(node, path):
        values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                keys[path + (str(k.value),)] = (k.start_mark.line + 1, k.start_mark.column + 1)
                walk(v, path + (str(k.value),))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    return values, keys


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_documents())
def test_values_are_located_where_the_pure_python_composer_located_them(text):
    """libyaml's marks are PyYAML's marks: errors stay located exactly as before."""
    if "\ufeff" in text or "\u2028" in text or "\x85" in text:
        return  # PyYAML does not count a BOM as a column; LS and NEL break lines for libyaml only
    try:
        doc = parse_located(text, "t")
        values, keys = _composer_index(text)
    except (InputError, yaml.YAMLError):
        return
    assert {p: (l.line, l.col) for p, l in doc.values.items()} == values
    assert {p: (l.line, l.col) for p, l in doc.keys.items()} == keys


def test_read_document_reads_paths_and_text():
    path = EXAMPLES / "minimal.timeline.json"
    by_path = read_document(path)
    by_text = read_document(path.read_text(), "m.json")
    by_bytes = read_document(path.read_bytes(), "m.json")
    assert by_path.name == str(path) and by_text.name == by_bytes.name == "m.json"
    assert by_path.data == by_text.data == by_bytes.data
    assert isinstance(by_path, Document)
    assert codes(lambda: read_document(b"a: \xff", "m")) == ["input.encoding"]
