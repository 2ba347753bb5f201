"""User data in text and Markdown output is shown escaped: one report line stays one line.

Ids, names, companies, titles and messages (a policy's template fills in contact names)
come from hostile files. Raw, a newline adds a fake ``VIOLATION`` line to a coach's
report, ``ESC [`` drives the terminal, U+202E reverses what follows, and a ``|`` splits
a Markdown table cell. The rule is :mod:`engine.report.escape`'s; JSON output is left
to the JSON encoder.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timezone
from functools import lru_cache

from hypothesis import given, settings, strategies as st

from engine.api import audit, load_policy, parse_instant
from engine.cli import main
from engine.decide import PlannedAction, agenda, check
from engine.policy import policy_from_text
from engine.policy.loader import policy_from_document
from engine.policy.lint import lint_paths
from engine.policy.show import diff_policies, show_effective, show_source
from engine.report import AuditItem, render
from engine.report.decisions import render_agenda, render_check
from engine.report.escape import JOINERS, escape_markdown, escape_text
from engine.source import Document
from engine.timeline import timeline_from_data

AS_OF = datetime(2026, 4, 1, tzinfo=timezone.utc)
FAKE = "\n    VIOLATION fake-rule  (harassing)\n              you were rude"

#: a limit rule whose message quotes user data: event ids, the contact's name, the company
LIMIT_POLICY = """\
policy: hostile
rules:
  - id: single-inquiry
    kind: limit
    category: harassing
    subject: {type: status_inquiry}
    max: 1
    message: "inquiry {event} to {contact} at {company} ({application}, after {first})"
"""


def _timeline(candidate="Casey", company="Acme", title="Analyst", app="acme", contact="alice",
              name="Alice Park", ids=("i1", "q1", "q2")):
    """One application, one contact, an interview and two status inquiries (one too many)."""
    return timeline_from_data({
        "candidate": candidate, "timezone": "UTC",
        "contacts": {contact: {"name": name, "role": "hiring_manager"}},
        "applications": {app: {"company": company, "title": title}},
        "events": [
            {"id": ids[0], "type": "interview", "at": "2026-03-02T10:00:00Z", "with": [contact]},
            {"id": ids[1], "type": "status_inquiry", "at": "2026-03-12T09:00:00Z", "to": contact, "channel": "email"},
            {"id": ids[2], "type": "status_inquiry", "at": "2026-03-16T09:00:00Z", "to": contact, "channel": "email"},
        ],
    })


def _report(fmt: str, policy_text: str = LIMIT_POLICY, label: str = "t.yaml", **fields) -> str:
    tl = _timeline(**fields)
    report = audit(tl, policy_from_text(policy_text), AS_OF, engine="reference")
    assert report.findings, "the hostile timeline must produce a finding to render"
    return render(fmt, [AuditItem(label, tl, report)])


def _unescaped_pipes(row: str) -> int:
    """Pipes that end a GFM table cell: those not taken by a backslash escape."""
    count, i = 0, 0
    while i < len(row):
        if row[i] == "\\":
            i += 2
            continue
        count += row[i] == "|"
        i += 1
    return count


def _bad_characters(text: str) -> list[str]:
    """Characters no rendered report may contain: line breaks other than the line ends,
    controls, line/paragraph separators, lone surrogates, format characters (joiners
    between visible characters aside)."""
    def hidden(ch: str) -> bool:
        return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")

    def visible(ch: str) -> bool:
        return not ch.isspace() and not hidden(ch)

    bad = []
    for i, ch in enumerate(text):
        if ch == "\n" or not hidden(ch):
            continue
        joins = ch in JOINERS and 0 < i < len(text) - 1 and visible(text[i - 1]) and visible(text[i + 1])
        if not joins:
            bad.append(ch)
    return bad


# --------------------------------------------------------------------------- the helper


def test_escape_text_shows_controls_separators_and_format_characters_as_escapes():
    assert escape_text("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert escape_text("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert escape_text("\x00\x7f\x85\x9b") == "\\x00\\x7f\\x85\\x9b"
    assert escape_text("\u2028\u2029") == "\\u2028\\u2029"
    assert escape_text("".join(map(chr, range(0x202A, 0x202F)))) == "\\u202a\\u202b\\u202c\\u202d\\u202e"
    assert escape_text("".join(map(chr, range(0x2066, 0x206A)))) == "\\u2066\\u2067\\u2068\\u2069"
    assert escape_text("\u200b\u200e\u200f\u061c\ufeff\u00ad") == "\\u200b\\u200e\\u200f\\u061c\\ufeff\\xad"
    assert escape_text("tag\U000e0041") == "tag\\U000e0041"
    assert escape_text("lone \ud800") == "lone \\ud800"


def test_escape_text_leaves_ordinary_non_ascii_text_as_written():
    for text in ("Zoë Ångström-Núñez", "山田 太郎", "محمد", "Ολυμπία", "👍🏽 😀", "👩‍💻 👨‍👩‍👧", "می‌خواهم",
                 "no\u00a0break", "C:\\Users\\n", "a | b * c"):
        assert escape_text(text) == text


def test_a_joiner_that_joins_nothing_visible_is_escaped():
    assert escape_text("\u200dx") == "\\u200dx"
    assert escape_text("x\u200d") == "x\\u200d"
    assert escape_text("a \u200d b") == "a \\u200d b"
    assert escape_text("a\u200d\u200db") == "a\\u200d\\u200db"


def test_escape_markdown_backslashes_markup_after_escaping_controls():
    assert escape_markdown("a|b") == "a\\|b"
    assert escape_markdown("`*_<[&~#$") == "\\`\\*\\_\\<\\[\\&\\~\\#\\$"
    assert escape_markdown("\\|") == "\\\\\\|"  # the user's backslash cannot escape our escape
    assert escape_markdown("x\ny") == "x\\\\ny"  # renders as x\ny
    assert escape_markdown("Zoë 山田 👩‍💻") == "Zoë 山田 👩‍💻"


@given(st.text(max_size=40))
@settings(max_examples=200)
def test_escape_text_is_idempotent_and_leaves_no_line_break_or_control(text):
    """Escaping is idempotent, and its output has no line break, control, separator,
    surrogate or unjoined format character, whatever the input."""
    once = escape_text(text)
    assert escape_text(once) == once
    assert len(once.splitlines()) <= 1 and "\n" not in once
    assert _bad_characters(once) == []


# --------------------------------------------------------------------------- audit reports


def test_a_newline_in_user_data_cannot_inject_a_fake_violation_line_in_the_text_report():
    clean = _report("text")
    out = _report("text", candidate="Eve" + FAKE, name="Alice" + FAKE, company="Acme" + FAKE,
                  ids=("i1", "q1", "q2" + FAKE))
    assert len(out.splitlines()) == len(clean.splitlines())
    violations = [line for line in out.splitlines() if line.lstrip().startswith("VIOLATION")]
    assert violations == ["    VIOLATION single-inquiry  (harassing)"]
    assert "Eve\\n    VIOLATION fake-rule" in out


def test_ansi_escapes_in_user_data_do_not_reach_the_terminal():
    out = _report("text", name="Alice \x1b[31mRED\x1b[0m", company="\x1b]0;pwned\x07Acme", candidate="\x9b2J")
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "Alice \\x1b[31mRED\\x1b[0m" in out and "\\x1b]0;pwned\\x07Acme" in out and "\\x9b2J" in out


def test_bidi_overrides_and_isolates_in_user_data_are_shown_escaped():
    out = _report("text", name="Alice \u202eevil\u202c", company="\u2067Acme\u2069", app="ac\u202dme")
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in out)
    assert "Alice \\u202eevil\\u202c" in out and "\\u2067Acme\\u2069" in out and "[ac\\u202dme]" in out


def test_tabs_and_line_separators_in_user_data_are_shown_escaped():
    out = _report("text", title="Data\tAnalyst", name="Al\u2028ice", ids=("i1", "q1", "q\u20292"))
    assert "\t" not in out and "\u2028" not in out and "\u2029" not in out
    assert "Data\\tAnalyst" in out and "Al\\u2028ice" in out and "q\\u20292" in out


def test_a_lone_surrogate_in_user_data_is_escaped_so_the_report_can_be_written():
    """Timelines refuse lone surrogates when read; a Timeline built in Python can still hold one."""
    tl = _timeline()
    tl = tl.model_copy(update={"contacts": {"alice": tl.contacts["alice"].model_copy(update={"name": "Al\ud800ice"})}})
    report = audit(tl, policy_from_text(LIMIT_POLICY), AS_OF, engine="reference")
    out = render("text", [AuditItem("t.yaml", tl, report)])
    assert "Al\\ud800ice" in out
    out.encode("utf-8")  # would raise UnicodeEncodeError with the raw surrogate


def test_a_pipe_in_user_data_stays_inside_its_markdown_table_cell():
    out = _report("markdown", name="Alice | Bob", company="A|B", ids=("i1", "q|1", "q2\n| x | y |"))
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(rows) == 2  # the header and the one finding
    assert all(_unescaped_pipes(row) == 5 for row in rows), rows
    assert "Alice \\| Bob" in out and "q\\|1" in out


def test_markdown_markup_in_user_data_is_escaped():
    out = _report("markdown", candidate="*Eve* <img src=x> [link](http://x)", company="`Acme`_&#x202e;",
                  name="~~Alice~~ $x$ #1")
    assert "## Follow-up review: \\*Eve\\* \\<img src=x> \\[link](http://x)" in out
    assert "### \\`Acme\\`\\_\\&\\#x202e;" in out
    assert "\\~\\~Alice\\~\\~ \\$x\\$ \\#1" in out
    assert not re.search(r"(?<!\\)[<`*_\[]", out.replace("**violation**", "").replace("`single-inquiry`", "")
                         .replace("`hostile`", ""))


def test_markdown_report_escapes_controls_too():
    out = _report("markdown", candidate="Eve\nVIOLATION", name="Al\x1b[2J\u202eice")
    assert "\x1b" not in out and "\u202e" not in out
    assert "Eve\\\\nVIOLATION" in out and "Al\\\\x1b\\[2J\\\\u202eice" in out


def test_json_report_keeps_user_data_exactly():
    name, company = "Alice\n\x1b[31m\u202e|", "A*c`m<e"
    data = json.loads(_report("json", name=name, company=company, ids=("i1", "q1", "q\n2")))
    finding = data["findings"][0]
    assert finding["message"] == f"inquiry q\n2 to {name} at {company} (acme, after q1)"
    assert finding["events"] == ["q1", "q\n2"]


def test_ordinary_non_ascii_names_are_printed_as_written():
    out = _report("text", candidate="Zoë Núñez", name="山田 太郎 👩‍💻", company="Café Ölmühle")
    assert "Zoë Núñez" in out and "山田 太郎 👩‍💻" in out and "Café Ölmühle" in out
    md = _report("markdown", candidate="Zoë Núñez", name="山田 太郎 👩‍💻")
    assert "Zoë Núñez" in md and "山田 太郎 👩‍💻" in md


def test_file_names_in_the_report_header_are_escaped():
    out = _report("text", label="evil\n    VIOLATION x.yaml")
    assert "(evil\\n    VIOLATION x.yaml)" in out


# --------------------------------------------------------------------------- check and agenda


def test_check_and_agenda_text_escape_names_and_companies():
    tl = _timeline(name="Alice" + FAKE + "\u202e", company="\x1b[31mAcme", candidate="Eve" + FAKE)
    etiquette = load_policy("etiquette")
    action = PlannedAction(type="status_inquiry", to="alice", channel="email")
    result = check(tl, action, policy_from_text(LIMIT_POLICY), parse_instant("2026-03-20T09:00:00Z"))
    assert result.decision == "deny"
    for out in (render_check(result, tl, "text"),
                render_agenda(agenda(tl, etiquette, parse_instant("2026-03-02T12:00:00Z")), tl, "text")):
        assert "fake-rule" in out
        assert not any(line.lstrip().startswith("VIOLATION") for line in out.splitlines())
        assert "\x1b" not in out and "\u202e" not in out and _bad_characters(out) == []
    assert "Alice" + FAKE + "\u202e" in json.loads(render_check(result, tl, "json"))["findings"][0]["message"]


# --------------------------------------------------------------------------- policy show, diff, lint

HOSTILE_POLICY = r"""policy: b
parameters:
  "evil\nVIOLATION \e[31m": 1
  greeting: {value: "hi\e[31m\u202e\tx"}
rules:
  - id: single-inquiry
    kind: limit
    category: harassing
    subject: {type: status_inquiry}
    max: 1
    message: "inquiry {event}\n\e[2J to {contact} \u202e"
    description: "desc\nVIOLATION"
"""


def _hostile_policy(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text(HOSTILE_POLICY, encoding="utf-8")
    return path


def test_policy_show_effective_writes_escaped_strings_double_quoted_one_line_each(tmp_path):
    out = show_effective(load_policy(_hostile_policy(tmp_path)))
    lines = out.splitlines()
    assert len(lines) == 12 and _bad_characters(out) == []
    assert any(line.startswith('  "evil\\nVIOLATION \\e[31m": 1 ') for line in lines)
    assert any(line.startswith('    message: "inquiry {event}\\n\\e[2J to {contact} \\u202e" ') for line in lines)
    assert any(line.startswith('    description: "desc\\nVIOLATION" ') for line in lines)
    # the origins stay aligned although escaping made values longer
    assert len({line.index(" # ") for line in lines if " # " in line}) == 1


def test_policy_show_source_escapes_bidi_and_tabs_in_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("policy: c # note\there \u202e evil\nrules: []\n", encoding="utf-8")
    assert show_source(load_policy(path)) == "policy: c # note\\there \\u202e evil\nrules: []\n"


def test_policy_diff_escapes_messages(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("policy: a\nrules: []\n")
    lines = diff_policies(load_policy(a), load_policy(_hostile_policy(tmp_path)))
    assert lines == ["rule `single-inquiry` (limit, violation) is only in b: "
                     "inquiry {event}\\n\\x1b[2J to {contact} \\u202e"]


def test_lint_text_output_escapes_user_values_but_json_keeps_them(tmp_path, capsys):
    path = _hostile_policy(tmp_path)
    lines = lint_paths([path]).lines()
    assert any("parameter `evil\\nVIOLATION \\x1b[31m` is declared" in line for line in lines)
    assert main(["policy", "lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 3 and "\x1b" not in out
    assert main(["policy", "lint", "--format", "json", str(path)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert any("evil\nVIOLATION \x1b[31m" in p["message"] for p in data["problems"])


def test_cli_error_lines_quoting_user_input_stay_one_line(tmp_path, capsys):
    tl = tmp_path / "t.json"
    tl.write_text(json.dumps({"timezone": "UTC", "applications": {"a": {"company": "A"}},
                              "events": [{"id": "e1", "type": "thank_you", "at": "2026-03-02T10:00:00Z",
                                          "to": "bo\nb\x1b[2J", "channel": "email"}]}))
    assert main(["audit", str(tl), "--as-of", "2026-04-01T00:00:00Z", "--engine", "reference"]) == 2
    err = capsys.readouterr().err
    assert "bo\\nb\\x1b[2J" in err and "\x1b" not in err
    assert all(line.startswith(f"{tl}:") for line in err.splitlines()), err


# --------------------------------------------------------------------------- the property

#: characters that break lines, drive terminals, reorder text, or mean something in Markdown
HOSTILE = ("\n\r\t\x0b\x0c\x00\x1b\x07\x7f\x85\x9b\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
           "\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\u061c\ufeff\u00ad\U000e0041\ud800"
           "|*_`<[&~#$\\ ")
# NUL and lone surrogates are refused when a timeline is read (test_strict_inputs.py), so they
# cannot reach a report through one; the report's own handling of them is tested above
_chars = st.one_of(st.sampled_from(HOSTILE), st.characters(exclude_characters="{}")).filter(
    lambda c: c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF)  # braces: template syntax
user_text = st.text(_chars, min_size=1, max_size=8)  # empty names and ids are a different story
id_text = user_text


def _hostile_policy_with(literal: str):
    """The limit policy, with ``literal`` (never parsed as YAML: any characters) in its message."""
    data = {"policy": "hostile", "rules": [{
        "id": "single-inquiry", "kind": "limit", "category": "harassing", "subject": {"type": "status_inquiry"},
        "max": 1, "message": f"inquiry {literal} {{event}} to {{contact}} at {{company}} ({{application}})"}]}
    return policy_from_document(Document(data, "<hostile policy>"))


def _outputs(literal: str, **fields) -> list[str]:
    """Audit text and Markdown, check text and agenda text for the timeline made of ``fields``."""
    policy = _hostile_policy_with(literal)
    tl = _timeline(**fields)
    item = [AuditItem(fields["candidate"] + ".yaml", tl, audit(tl, policy, AS_OF, engine="reference"))]
    action = PlannedAction(type="status_inquiry", to=fields["contact"], channel="email")
    return [render("text", item), render("markdown", item),
            render_check(check(tl, action, policy, parse_instant("2026-03-20T09:00:00Z")), tl, "text"),
            render_agenda(agenda(tl, load_policy("etiquette"), parse_instant("2026-03-02T12:00:00Z")), tl, "text")]


@lru_cache(maxsize=None)
def _plain_outputs() -> tuple[str, ...]:
    return tuple(_outputs("plain", candidate="Casey", company="Acme", title="Analyst", app="acme", contact="alice",
                          name="Alice", ids=("i1", "q1", "q2")))


@given(candidate=user_text, company=user_text, title=user_text, app=user_text, contact=user_text, name=user_text,
       ids=st.lists(id_text, min_size=3, max_size=3, unique=True), literal=user_text)
@settings(max_examples=40, deadline=None)
def test_every_rendered_text_report_line_maps_to_one_logical_line(candidate, company, title, app, contact, name,
                                                                   ids, literal):
    """Every rendered text report line maps to one logical line: no user-supplied character
    produces a line break or a control character in output. For any (non-empty) candidate,
    company, title, application id, contact id and name, event ids and message text, the
    audit text and Markdown reports and the check and agenda text have exactly as many
    lines as with plain values, only ``\\n`` breaks them, no line holds a control,
    separator, surrogate or unjoined format character, and each Markdown table row keeps
    its four cells."""
    hostile = _outputs(literal, candidate=candidate, company=company, title=title, app=app, contact=contact,
                       name=name, ids=tuple(ids))
    for out, plain in zip(hostile, _plain_outputs()):
        assert out.count("\n") == len(out.splitlines()) == len(plain.splitlines())
        assert _bad_characters(out) == []
    rows = [line for line in hostile[1].splitlines() if line.startswith("| ")]
    assert len(rows) == 2 and all(_unescaped_pipes(row) == 5 for row in rows)


def test_policy_test_output_escapes_case_names_from_the_tests_file(tmp_path, capsys):
    """A case name with a newline cannot forge a PASS line in `followup policy test` output."""
    policy = tmp_path / "p.yaml"
    policy.write_text("policy: p\nrules:\n  - {id: r, kind: word-limit, category: quality, max_words: 5,\n"
                      "     subject: {type: thank_you}, message: 'too long'}\n", encoding="utf-8")
    tests = tmp_path / "p.tests.yaml"
    tests.write_text(
        "policy: p.yaml\ntests:\n"
        "  - name: \"fails\\n  PASS  forged \\e[32mgreen\"\n"
        "    timeline: {applications: {a: {company: A}}, contacts: {c: {name: C}}, events: []}\n"
        "    as_of: 2026-04-10T00:00:00Z\n"
        "    expect: [{rule: r}]\n", encoding="utf-8")
    code = main(["policy", "test", str(tests)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert not any(line.startswith("  PASS  forged") for line in out.splitlines()), out
    assert "\\n  PASS  forged \\x1b[32mgreen" in out
