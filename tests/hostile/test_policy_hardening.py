"""Hostile policies: nothing a policy says may crash loading, linting or an audit.

* message templates are data: ``{name}`` and ``{{``/``}}`` only, checked when the policy
  loads (``policy.bad-template``), rendered by a substitution that cannot fail;
* integers and booleans in rules and the calendar are strict (``"2"``, ``true``, ``2.0``
  and ``"yes"`` are not coerced), also through ``$parameter``; no empty phrases;
* every shape error is a located ``InputError``, never an exception (a mutation test
  over the shipped policies);
* a calendar with no business day is ``policy.no-business-day`` at load and
  ``calendar.no-business-day`` (exit 2, HTTP 422) at evaluation; the search is bounded;
* lint reports every load-time problem with the loader's code.
"""

from __future__ import annotations

import copy
import json
import re
import string
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import api
from engine.calendar import MAX_DAYS_OFF, BusinessCalendar, CalendarError
from engine.cli import main
from engine.errors import InputError
from engine.findings import render_template, template_errors, template_names
from engine.limits import CALENDAR_LAST_YEAR as MAX_YEAR  # the last year business days are counted in
from engine.policy import policy_from_text
from engine.policy.lint import lint_file, lint_policy
from engine.policy.loader import load_policy, shipped_policies

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))

# --------------------------------------------------------------------------- building bad policies

BASES = {
    "limit": {"id": "x", "kind": "limit", "category": "harassing", "subject": "{type: status_inquiry}",
              "max": "1", "message": '"{count} status inquiries ({events})"'},
    "deadline": {"id": "x", "kind": "deadline", "category": "overdue", "trigger": "{type: interview}",
                 "expect": "{type: thank_you}", "within": "24h", "message": '"no thank-you after {event}"'},
    "word-limit": {"id": "x", "kind": "word-limit", "category": "quality", "subject": "{type: thank_you}",
                   "max_words": "200", "message": '"{event} is long"'},
    "hours": {"id": "x", "kind": "hours", "category": "harassing", "subject": "{type: outreach}",
              "start": '"08:00"', "end": '"21:00"', "message": '"{event} out of hours"'},
    "forbidden-after": {"id": "x", "kind": "forbidden-after", "category": "harassing",
                        "subject": "{type: outreach}", "after": "{type: rejection}",
                        "except": "{type: feedback_request, max: 1}", "message": '"{event} after {first}"'},
    "phrases": {"id": "x", "kind": "phrases", "category": "tone", "subject": "{type: status_inquiry}",
                "phrases": '["still waiting"]', "message": '"{event} sounds impatient"'},
}


def policy_text(kind: str = "limit", *, parameters: str | None = None, calendar: str | None = None,
                **fields: str | None) -> str:
    """A one-rule policy with ``fields`` (raw YAML text; None removes a field) over the kind's base rule,
    each field on a line of its own."""
    rule = {**BASES[kind], **{k.rstrip("_"): v for k, v in fields.items()}}
    lines = ["policy: p"]
    if parameters is not None:
        lines.append(f"parameters: {parameters}")
    if calendar is not None:
        lines.append(f"calendar: {calendar}")
    lines.append("rules:")
    for i, (key, value) in enumerate((k, v) for k, v in rule.items() if v is not None):
        lines.append(("  - " if i == 0 else "    ") + f"{key}: {value}")
    return "\n".join(lines) + "\n"


def line_of(text: str, key: str) -> int:
    """The 1-based line on which ``key:`` is written."""
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(rf"^\s*(- )?{re.escape(key)}:", line):
            return n
    raise AssertionError(f"no `{key}:` in the text")


def load_problems(text: str) -> list:
    with pytest.raises(InputError) as info:
        policy_from_text(text, "p.yaml")
    return info.value.problems


#: (policy text, the code loading gives, the key whose line it is located on)
BAD: dict[str, tuple[str, str, str]] = {
    # 1. templates
    "format spec": (policy_text(message='"{event:>400000000}"'), "policy.bad-template", "message"),
    "conversion": (policy_text(message='"{event!r}"'), "policy.bad-template", "message"),
    "attribute": (policy_text(message='"{event.__class__}"'), "policy.bad-template", "message"),
    "index": (policy_text(message='"{events[0]}"'), "policy.bad-template", "message"),
    "unbalanced open": (policy_text(message='"inquiry {event"'), "policy.bad-template", "message"),
    "lone close": (policy_text(message='"inquiry } {event}"'), "policy.bad-template", "message"),
    "empty braces": (policy_text(message='"inquiry {}"'), "policy.bad-template", "message"),
    "positional": (policy_text(message='"inquiry {0}"'), "policy.bad-template", "message"),
    "spaced name": (policy_text(message='"inquiry { event }"'), "policy.bad-template", "message"),
    "unknown name": (policy_text(message='"inquiry {evnt}"'), "policy.unknown-placeholder", "message"),
    "unknown in braces": (policy_text(message='"{{{evnt}}}"'), "policy.unknown-placeholder", "message"),
    # 2. strict integers and booleans, phrases with text
    "max as text": (policy_text(max='"2"'), "policy.invalid", "max"),
    "max as boolean": (policy_text(max="true"), "policy.invalid", "max"),
    "max as float": (policy_text(max="2.0"), "policy.invalid", "max"),
    "per_recipient yes": (policy_text(per_recipient='"yes"'), "policy.invalid", "per_recipient"),
    "per_recipient 1": (policy_text("deadline", per_recipient="1"), "policy.invalid", "per_recipient"),
    "enabled as text": (policy_text(enabled='"false"'), "policy.invalid", "enabled"),
    "max_words as text": (policy_text("word-limit", max_words='"200"'), "policy.invalid", "max_words"),
    "max_words as float": (policy_text("word-limit", max_words="200.0"), "policy.invalid", "max_words"),
    "business_days 0": (policy_text("hours", business_days="0"), "policy.invalid", "business_days"),
    "except max as text": (policy_text("forbidden-after", except_='{type: feedback_request, max: "1"}'),
                           "policy.invalid", "except"),
    "except unknown type": (policy_text("forbidden-after", except_="{type: feedbak, max: 1}"),
                            "policy.invalid", "except"),
    "empty phrase": (policy_text("phrases", phrases='["still waiting", ""]'), "policy.invalid", "phrases"),
    "blank phrase": (policy_text("phrases", phrases='["   "]'), "policy.invalid", "phrases"),
    "public_holidays yes": (policy_text(calendar='{public_holidays: "yes"}'), "policy.invalid", "calendar"),
    "closure as number": (policy_text(calendar="{closures: [20261224]}"), "policy.invalid", "calendar"),
    "closure out of range": (policy_text(calendar="{closures: [0001-01-01]}"), "policy.invalid", "calendar"),
    "parameter as text": (policy_text(parameters='{n: "2"}', max="$n"), "policy.invalid", "parameters"),
    # 3. shapes
    "kind a list": (policy_text(kind_="[limit]"), "policy.invalid", "kind"),
    "kind a mapping": (policy_text(kind_="{a: 1}"), "policy.invalid", "kind"),
    "message a number": (policy_text(message="3"), "policy.invalid", "message"),
    "id a list": (policy_text(id="[x]"), "policy.invalid", "id"),
    "subject a string": (policy_text(subject='"thank_you"'), "policy.invalid", "subject"),
    "rules of numbers": ("policy: p\nrules: [1]\n", "policy.invalid", "rules"),
    "rules a number": ("policy: p\nrules: 3\n", "policy.invalid", "rules"),
    "rule a list": ("policy: p\nrules:\n  - [1, 2]\n", "policy.invalid", "rules"),
    # 4. calendars
    "every day weekend": (policy_text(calendar="{weekend: [mon, tue, wed, thu, fri, sat, sun]}"),
                          "policy.no-business-day", "calendar"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_each_bad_policy_is_a_located_input_error(name):
    text, code, key = BAD[name]
    problems = load_problems(text)
    assert code in [p.code for p in problems], problems
    [problem] = [p for p in problems if p.code == code][:1]
    assert problem.loc is not None and problem.loc.file == "p.yaml"
    assert problem.loc.line == line_of(text, key) or (key == "rules" and problem.loc.line >= line_of(text, key))
    assert "\n" not in problem.message


@pytest.mark.parametrize("name", list(BAD))
def test_lint_reports_each_load_problem_with_the_loaders_code(name, tmp_path):
    """Lint finds every load-time problem audit would hit, under the same code."""
    text, code, _ = BAD[name]
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = {p.code for p in load_problems(text)}
    linted = lint_file(path)
    assert code in {p.code for p in linted if p.severity == "error"}, linted
    assert {p.code for p in linted if p.severity == "error"} == loaded


# --------------------------------------------------------------------------- 1. templates


def test_format_spec_is_refused_with_what_is_wrong():
    text = policy_text(message='"{event:>400000000}"')
    [problem] = load_problems(text)
    assert str(problem) == (f"p.yaml:{line_of(text, 'message')}:14: error[policy.bad-template]: message template: "
                            "`{event:>400000000}` has a format spec; placeholders are plain names such as `{event}`")


def test_unbalanced_brace_is_refused_not_a_crash_in_the_audit():
    [problem] = load_problems(policy_text(message='"inquiry {event"'))
    assert "`{event` is not closed" in problem.message


def test_a_bad_template_from_a_parameter_is_located_at_the_parameter():
    text = policy_text(parameters="{note: {value: '{event!r}'}}", message="$note")
    [problem] = load_problems(text)
    assert problem.code == "policy.bad-template" and problem.loc.line == line_of(text, "parameters")


def test_literal_braces_and_repeated_placeholders_render():
    text = policy_text(message='"{{event}} is {event}; again {event}, {{{count}}}"')
    policy = policy_from_text(text)
    timeline = api.load_timeline(ROOT / "examples" / "over-eager.yaml")
    report = api.audit(timeline, policy, datetime(2026, 4, 14, tzinfo=timezone.utc))
    assert report.findings
    for f in report.findings:
        assert f.message == f"{{event}} is {f.events[-1]}; again {f.events[-1]}, {{{len(f.events)}}}"


def test_render_leaves_unknown_and_malformed_text_as_written():
    fields = {"event": "q1"}
    assert render_template("{event} {nope} {event:>9} { {0} }}", fields) == "q1 {nope} {event:>9} { {0} }"


NAMES = st.sampled_from(["event", "contact", "count", "due", "x_1", "within"])
PIECES = st.one_of(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=8),
                   st.just("{{"), st.just("}}"), NAMES.map(lambda n: "{" + n + "}"))


@given(st.lists(PIECES, max_size=12).map("".join),
       st.fixed_dictionaries({n: st.text(max_size=10) for n in ["event", "contact", "count", "due", "x_1", "within"]}))
def test_valid_templates_render_exactly_as_python_format_did(template, fields):
    """Invariant: on every valid template (``{name}``, ``{{``, ``}}``, text) with every name given,
    the substitution equals ``str.format_map``, so the shipped messages read as before."""
    assert template_errors(template) == []
    assert render_template(template, fields) == template.format_map(fields)


@given(st.text(alphabet=st.sampled_from("{}ab:!.[]0 ") | st.characters(), max_size=60),
       st.dictionaries(NAMES, st.text(max_size=30), max_size=6))
def test_rendering_any_text_never_fails_and_adds_no_more_than_the_values(template, fields):
    """Invariant: for any text, rendering returns a string no longer than the template plus the values
    substituted (no padding, no repetition), and checking it names every problem without raising."""
    out = render_template(template, fields)
    substituted = sum(len(fields[n]) for n in template_names(template) if n in fields)
    assert len(out) <= len(template) + substituted
    errors = template_errors(template)
    assert all("\n" not in e for e in errors)
    if not errors:  # what we accept, Python's own parser accepts too (no lone braces)
        list(string.Formatter().parse(template))


# --------------------------------------------------------------------------- 2. strict values


def test_a_parameter_of_the_right_type_still_substitutes():
    policy = policy_from_text(policy_text(parameters="{n: 2, per: true}", max="$n", per_recipient="$per"))
    [rule] = policy.rules
    assert rule.max == 2 and rule.per_recipient is True


def test_a_parameter_of_the_wrong_type_is_reported_at_the_parameter():
    text = policy_text(parameters="{n: {value: true}}", max="$n")
    [problem] = load_problems(text)
    assert problem.code == "policy.invalid" and problem.loc.line == line_of(text, "parameters")
    assert "(parameter `n`)" in problem.message


def test_an_empty_phrase_is_located_at_its_list_item():
    text = "policy: p\nrules:\n  - id: x\n    kind: phrases\n    category: tone\n    subject: {type: status_inquiry}\n" \
           "    message: m\n    phrases:\n      - still waiting\n      - ''\n"
    [problem] = load_problems(text)
    assert (problem.code, problem.loc.line, problem.loc.col) == ("policy.invalid", 10, 9)
    assert "empty phrase" in problem.message


# --------------------------------------------------------------------------- 4. calendars

ONE = timedelta(days=1)


def _closures(start: date, days: int) -> list[str]:
    return [(start + k * ONE).isoformat() for k in range(days)]


def test_policy_closures_of_more_than_a_year_are_refused_at_load():
    text = policy_text(calendar="{closures: [" + ", ".join(_closures(date(2026, 1, 5), 370)) + "]}")
    [problem] = load_problems(text)
    assert problem.code == "policy.no-business-day" and problem.loc.line == line_of(text, "calendar")
    assert "`2026-01-03`" in problem.message  # the run starts with the weekend before the first closure


def test_policy_closures_of_under_a_year_load():
    policy_from_text(policy_text(calendar="{closures: [" + ", ".join(_closures(date(2026, 1, 5), 300)) + "]}"))


def _closed_timeline(days: int = 400) -> dict:
    return {"candidate": "Casey", "timezone": "America/New_York",
            "contacts": {"alice": {"name": "Alice Park", "role": "hiring_manager"}},
            "applications": {"acme": {"company": "Acme", "country": "US", "closures": _closures(date(2026, 3, 3), days)}},
            "events": [{"id": "i1", "type": "interview", "at": "2026-03-02T10:00", "application": "acme",
                        "with": ["alice"]},
                       {"id": "q1", "type": "status_inquiry", "at": "2026-03-20T10:00", "application": "acme",
                        "to": "alice", "channel": "email"}]}


def test_application_closures_of_more_than_a_year_are_an_input_error_naming_it():
    timeline = api.load_timeline(_closed_timeline())
    with pytest.raises(InputError) as info:
        api.audit(timeline, load_policy("etiquette"), datetime(2026, 4, 1, tzinfo=timezone.utc))
    assert isinstance(info.value, CalendarError)
    [problem] = info.value.problems
    assert problem.code == "calendar.no-business-day"
    assert problem.message.startswith("application `acme`, event `i1`: no business day for more than 366 days")


def test_cli_exits_2_for_a_calendar_without_business_days(tmp_path, capsys):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_closed_timeline()), encoding="utf-8")
    code = main(["audit", str(path), "--as-of", "2026-04-01T00:00:00Z", "--engine", "reference"])
    err = capsys.readouterr().err
    assert code == 2 and "error[calendar.no-business-day]: application `acme`" in err and "Traceback" not in err


def test_http_answers_422_for_a_calendar_without_business_days():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
        from fastapi.testclient import TestClient
    from engine.server import create_app
    with TestClient(create_app(engine="reference")) as client:
        response = client.post("/v1/audit", json={"timeline": _closed_timeline(), "as_of": "2026-04-01T00:00:00Z"})
    assert response.status_code == 422, response.text
    assert [e["code"] for e in response.json()["errors"]] == ["calendar.no-business-day"]


def test_a_week_of_weekend_is_an_input_error_not_a_value_error():
    calendar = BusinessCalendar(weekend=frozenset(range(7)))
    with pytest.raises(CalendarError) as info:
        calendar.business_day_after(date(2026, 3, 2), 1)
    assert info.value.problems[0].code == "calendar.no-business-day"


@pytest.mark.parametrize("day", [date(MAX_YEAR, 12, 30), date(9999, 12, 30)])
def test_the_search_stops_at_the_last_year_business_days_are_counted_in(day):
    with pytest.raises(CalendarError) as info:
        BusinessCalendar().business_day_after(day, 5)
    assert info.value.problems[0].code == "input.out-of-range"


def _naive(calendar: BusinessCalendar, day: date, n: int) -> date | str:
    """The day-by-day count: the n-th business day after ``day``, giving up after MAX_DAYS_OFF days off."""
    off = 0
    while True:
        if day == date(MAX_YEAR, 12, 31):
            return "input.out-of-range"
        day += ONE
        if calendar.is_business_day(day):
            n, off = n - 1, 0
            if n == 0:
                return day
        else:
            off += 1
            if off > MAX_DAYS_OFF:
                return "calendar.no-business-day"


RUNS = st.lists(st.tuples(st.integers(-30, 900), st.integers(1, 420)), max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weekend=st.sets(st.integers(0, 6), max_size=7), runs=RUNS, country=st.sampled_from([None, "US", "DE"]),
       start=st.dates(date(2025, 1, 1), date(2027, 12, 31)) | st.dates(date(2195, 1, 1), date(2199, 12, 31)),
       n=st.integers(1, 40) | st.sampled_from([260, 2600]))
def test_business_day_after_equals_the_day_by_day_count(weekend, runs, country, start, n):
    """Invariant: the bounded, table-driven search gives the same day as counting day by day, and
    fails (with a CalendarError of the same code) exactly where the day-by-day count gives up."""
    closures = frozenset(start + (offset + k) * ONE for offset, length in runs for k in range(length)
                         if (start + (offset + k) * ONE).year <= MAX_YEAR)
    assume(n < 100 or (len(weekend) < 6 and not runs))  # keep the naive count short
    calendar = BusinessCalendar(country=country, weekend=frozenset(weekend), closures=closures)
    expected = _naive(calendar, start, n)
    try:
        got: date | str = calendar.business_day_after(start, n)
    except CalendarError as exc:
        got = exc.problems[0].code
    assert got == expected


# --------------------------------------------------------------------------- 3. mutations of the shipped policies

EXTREMES = [None, True, False, 0, -1, 1, 20, 21, 10**30, -10**30, 0.5, 2.0, 1e308, "", " ", "x" * 2000,
            "$nope", "$$x", "{event:>99}", "{", "}", "{{}}", "{nope}", "0bd", "2600bd", "3660d", "522w", "end-of-day",
            "24 hours", "2026-02-30", "9999-12-31", "1900-01-01", "outreach", "any", "thank_you", "mon", "sun",
            "email", "interviewer", [], [None], [1, "a"], ["sat", "sun", "mon", "tue", "wed", "thu", "fri"], {},
            {"type": "any"}, {"value": None}, {"a": {"b": []}}]
#: text of the basic multilingual plane: escaped astral characters are surrogate pairs in JSON, which
#: the document reader (engine/source.py, not this file's subject) must join
BMP_TEXT = st.text(st.characters(max_codepoint=0xFFFF), max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | BMP_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(BMP_TEXT, inner, max_size=3),
    max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def _kind(value) -> str:
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


@st.composite
def mutated(draw, data: dict) -> dict:
    """``data`` with one to three mutations: a value swapped for one of another type, an extreme value,
    or a key or list item removed."""
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        old = parent[path[-1]]
        op = draw(st.sampled_from(["swap", "extreme", "remove"]))
        if op == "remove":
            del parent[path[-1]]
            continue
        if op == "swap":
            new = draw(JSON_VALUES.filter(lambda v: _kind(v) != _kind(old)))
        else:
            new = copy.deepcopy(draw(st.sampled_from(EXTREMES)))
        parent[path[-1]] = new
    return data


def _as_of(path: Path) -> datetime:
    match = re.search(r"--as-of (\S+)", path.read_text(encoding="utf-8"))
    return api.parse_instant(match.group(1)) if match else datetime(2026, 12, 31, tzinfo=timezone.utc)


TIMELINES = [(api.load_timeline(p), _as_of(p)) for p in EXAMPLES]
SHIPPED = {name: load_policy(name).document.data for name in shipped_policies()}


@pytest.mark.parametrize("key", ["\n", "a\rb", "\t", "x" * 5000])
def test_a_policy_key_with_a_line_break_or_of_any_length_gives_one_line_errors(key):
    """A key such as ``"\\n"`` in ``parameters`` (found by the mutation property below) is escaped
    in the message and the path, and a long one cut, so every problem stays on one line."""
    document = copy.deepcopy(SHIPPED["etiquette"])
    document["parameters"] = {key: None}
    with pytest.raises(InputError) as caught:
        policy_from_text(json.dumps(document), "mutated.json")
    for p in caught.value.problems:
        assert "\n" not in p.message and "\r" not in p.message and "\n" not in (p.path or "")
        assert len(p.message) < 600, p.message


@pytest.mark.parametrize("name", sorted(SHIPPED))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_mutated_shipped_policy_loads_or_is_an_input_error_and_if_it_loads_audits_every_example(name, data):
    """Invariant: any mutation of a shipped policy (type swaps, extreme values, removals) either loads or
    raises InputError, never another exception; a policy that loads lints and audits every example
    timeline (reference engine) without an exception."""
    document = data.draw(mutated(SHIPPED[name]))
    text = json.dumps(document)  # ASCII, with escapes (the reader's own limits are tested elsewhere)
    try:
        policy = policy_from_text(text, "mutated.json")
    except InputError as exc:
        assert exc.problems and all(p.loc is not None and "\n" not in p.message for p in exc.problems)
        return
    lint_policy(policy)
    for timeline, as_of in TIMELINES:
        api.audit(timeline, policy, as_of, engine="reference")


def test_the_examples_and_shipped_policies_are_there():
    assert len(TIMELINES) >= 5 and {"etiquette", "agencies/strict", "agencies/lenient"} <= set(SHIPPED)
