"""The HTML report: a conforming, self-contained page with a linked SVG timeline per application.

Pages are parsed with html5lib in strict mode (a parse error fails the test), then
checked for what a coach relies on: every finding's message, links from findings to the
marks of the events they cite and back, one picture per application, a legend, nothing
loaded from elsewhere, and hostile names shown as inert, visible text.
"""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import api
from engine.cli import main
from engine.report.summary import SummaryRow
from engine.report import RENDERERS, AuditItem, render
from engine.report import html
from engine.timeline import timeline_from_data
from engine.report.escape import escape_text
from strategies import DISPLAY_TEXTS, audits

from ._html import EXAMPLE_AS_OF, ROOT, by_id, caseload, classes, example_item, html5lib_or_skip, parse, text_of

UTC = timezone.utc


@pytest.fixture(scope="module")
def items():
    return caseload()


@pytest.fixture(scope="module")
def page(items):
    return render("html", items)


@pytest.fixture(scope="module")
def root(page):
    return parse(page)


def _parents(root) -> dict:
    return {child: parent for parent in root.iter() for child in parent}


def _findings(root) -> list:
    return [el for el in root.iter("li") if (el.get("id") or "").startswith("f-")]


def _marks(root) -> list:
    return [el for el in root.iter("g") if "mark" in classes(el)]


def _links_of(finding) -> list[str]:
    return [a.get("href")[1:] for a in finding.iter("a") if (a.get("href") or "").startswith("#e-")]


def test_html_is_a_registered_renderer(items):
    assert "html" in RENDERERS
    assert render("html", items[:1]).startswith("<!DOCTYPE html>")


def test_every_finding_is_shown_with_its_message_severity_and_category(items, root):
    shown = _findings(root)
    expected = [f for item in items for f in item.report.findings]
    assert len(shown) == len(expected) > 0
    for k, (finding, li) in enumerate(zip(expected, shown)):
        text = " ".join(text_of(li).split())
        assert " ".join(finding.message.split()) in text
        assert finding.rule in text and f"({finding.category})" in text
        assert {"violation": "VIOLATION", "warning": "warning", "info": "info"}[finding.severity] in text
        assert finding.severity in classes(li)


def test_findings_link_to_the_marks_of_their_events_and_the_marks_link_back(items, root):
    ids, parents = by_id(root), _parents(root)
    expected = [f for item in items for f in item.report.findings]
    for finding, li in zip(expected, _findings(root)):
        targets = _links_of(li)
        assert len(targets) == len(finding.events)
        for target, event_id in zip(targets, finding.events):
            mark = ids[target]  # the link resolves
            assert mark.tag == "g" and "mark" in classes(mark)
            assert mark.find("title").text.startswith(f"{event_id}: ")
            assert any("ring" in classes(c) for c in mark)  # cited events are ringed
            link = parents[mark]
            assert link.tag == "a" and link.get("href").startswith("#f-")
            back = ids[link.get("href")[1:]]  # ... and the mark links to a finding that cites it
            assert target in _links_of(back)


def test_only_cited_marks_are_ringed_and_linked(root):
    cited = {t for li in _findings(root) for t in _links_of(li)}
    parents = _parents(root)
    for mark in _marks(root):
        ringed = any("ring" in classes(c) for c in mark)
        assert ringed == (mark.get("id") in cited)
        assert (parents[mark].tag == "a") == ringed


def test_one_svg_per_application_and_a_mark_per_event_and_lane(items, root):
    sections = [el for el in root.iter("section") if "timeline" in classes(el)]
    assert len(sections) == len(items)
    for item, sec in zip(items, sections):
        charts = [s for s in sec.iter("svg") if "chart" in classes(s)]
        assert len(charts) == len(item.timeline.applications)
        marks = [m for m in sec.iter("g") if "mark" in classes(m)]
        assert len(marks) == sum(max(1, len([p for p in e.parties if p])) for e in item.timeline.events)


def test_each_section_has_a_legend_naming_every_event_type_it_draws(items, root):
    sections = [el for el in root.iter("section") if "timeline" in classes(el)]
    for item, sec in zip(items, sections):
        legend = next(el for el in sec.iter("ul") if "legend" in classes(el))
        words = text_of(legend)
        for event_type in {e.type for e in item.timeline.events}:
            shape, _, _, label = html.EVENT_STYLES[event_type]
            assert label in words and shape in words  # the shape is named: not colour alone
        assert "ring" in words and "as-of" in words


def test_event_types_have_distinct_shapes():
    shapes = [style[0] for style in html.EVENT_STYLES.values()]
    paths = [style[1] for style in html.EVENT_STYLES.values()]
    assert len(set(shapes)) == len(shapes) and len(set(paths)) == len(paths)
    from engine.timeline import EVENT_TYPES
    assert set(html.EVENT_STYLES) == set(EVENT_TYPES)


def test_the_page_is_self_contained(page, root):
    """No script, no external URL in any attribute or style; nothing to load at all."""
    assert not list(root.iter("script")) and not list(root.iter("link")) and not list(root.iter("img"))
    assert not list(root.iter("iframe")) and not list(root.iter("object")) and not list(root.iter("embed"))
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            local = name.split("}")[-1]
            assert not local.lower().startswith("on"), f"event handler {name} on {el.tag}"
            if local in ("href", "src", "action", "formaction", "poster"):
                assert value.startswith("#"), f"{el.tag} {local}={value}"
            assert "http://" not in value and "https://" not in value, f"{el.tag} {name}={value}"
            for url in re.findall(r"url\(([^)]*)\)", value):
                assert url.startswith("#"), url
    for style in root.iter("style"):
        assert "@import" not in style.text and "http" not in style.text
        assert all(u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", style.text))
        assert "@media print" in style.text
    csp = [m for m in root.iter("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0].get("content")


def test_head_sections_and_tail_make_the_whole_page(items, page):
    streamed = html.page_head(html._title(items)) + "".join(
        html.section(item, f"t{k}") for k, item in enumerate(items, 1)) + html.page_tail()
    assert streamed == page


def test_sections_are_anchored_for_the_summary(items, root):
    ids = by_id(root)
    for k, item in enumerate(items, 1):
        assert ids[f"t{k}"].tag == "section"
        assert (item.timeline.candidate or item.label) in text_of(ids[f"t{k}"].find("h2"))


@pytest.mark.parametrize("anchor", ["", "1t", "t 1", 't"1', "t#1", "x" * 65, None])
def test_a_bad_anchor_is_refused(items, anchor):
    with pytest.raises(ValueError):
        html.section(items[0], anchor)


# -- windows ----------------------------------------------------------------------------------

def _span_titles(root) -> list[str]:
    return [r.find("title").text for r in root.iter("rect") if "span" in classes(r) and r.find("title") is not None]


def test_thank_you_windows_say_which_were_kept_and_which_missed():
    root = parse(render("html", [example_item("forgetful")]))
    titles = _span_titles(root)
    # 24 h after the end of the on-site (Wed 13 May, 09:00-12:00), in the employer's zone
    for status, who in (("Missed", "Raj Patel"), ("Missed", "Ben Foster"), ("Kept", "Linda Cho")):
        assert f"{status}: thank-you to {who} due by Thu 14 May 2026 12:00 PDT (from i2, Wed 13 May 2026 09:00 PDT)" \
            in titles
    assert "Kept: thank-you to Hannah Becker due by Tue 05 May 2026 10:30 PDT (from i1, Mon 04 May 2026 10:00 PDT)" \
        in titles
    listed = [" ".join(text_of(li).split()) for ul in root.iter("ul") if "windows" in classes(ul) for li in ul]
    assert listed == titles  # the list under the picture says what the spans show


def test_the_inquiry_window_is_shaded_until_it_opens():
    root = parse(render("html", [example_item("over-eager")]))
    # the timetable's decision time plus one business day, as the inquiry-after-timetable finding says
    assert any(t.startswith("Wait: status inquiry allowed from Tue 21 Apr 2026 00:00 EDT (from t1, ")
               for t in _span_titles(root))


def test_an_open_deadline_is_shown_open():
    item = example_item("forgetful", as_of="2026-05-13T20:00:00Z")  # the on-site ended an hour ago
    titles = _span_titles(parse(render("html", [item])))
    assert any(t.startswith("Open: thank-you to Raj Patel due by Thu 14 May 2026 12:00 PDT") for t in titles)


def test_without_the_policy_only_the_findings_windows_are_shaded():
    item = example_item("forgetful", with_policy=False)
    root = parse(render("html", [item]))
    spans = [r for r in root.iter("rect") if "span" in classes(r) and r.find("title") is not None]  # not the legend's
    assert len(spans) == sum(1 for f in item.report.findings if f.due)
    assert all("span-missed" in classes(r) or "span-wait" in classes(r) for r in spans)
    assert "only the deadlines and waiting times the findings name" in text_of(root)


# -- as-of: events left out, and "nothing to flag" -----------------------------------------------

def test_events_after_the_as_of_time_get_a_banner_and_faded_marks():
    item = example_item("forgetful", as_of="2026-05-14T12:00:00Z")
    assert item.report.ignored
    root = parse(render("html", [item]))
    banner = next(el for el in root.iter("div") if "banner" in classes(el))
    text = text_of(banner)
    assert f"{len(item.report.ignored)} events after the as-of time" in text
    assert all(eid in text for eid in item.report.ignored)
    faded = {m.find("title").text.split(":")[0] for m in _marks(root) if "ignored" in classes(m)}
    assert faded == set(item.report.ignored)


def test_nothing_to_flag_is_never_said_over_events_left_out():
    """A quiet application with events after the as-of time says they were not evaluated."""
    item = example_item("model-candidate", as_of="2026-03-05T00:00:00Z")
    assert not item.report.findings and item.report.ignored
    root = parse(render("html", [item]))
    text = " ".join(text_of(root).split())
    assert "Nothing to flag up to the as-of time." in text
    assert re.search(r"\d+ later events of this application were not evaluated", text)
    quiet = [p for p in root.iter("p") if "ok" in classes(p)]
    assert not quiet  # not shown as a plain green "ok"


def test_an_application_with_nothing_evaluated_says_so():
    item = example_item("model-candidate", as_of="2026-03-01T00:00:00Z")
    text = " ".join(text_of(parse(render("html", [item]))).split())
    assert "nothing was evaluated" in text and "Nothing to flag" not in text


def test_a_timeline_without_applications_says_nothing_was_evaluated():
    tl = timeline_from_data({"candidate": "Sam"})
    policy = api.load_policy("etiquette")
    item = AuditItem("t.yaml", tl, api.audit(tl, policy, datetime(2026, 3, 10, tzinfo=UTC), engine="reference"), policy)
    root = parse(render("html", [item]))
    assert "no application: nothing was evaluated" in text_of(root)
    assert not [s for s in root.iter("svg") if "chart" in classes(s)]


# -- hostile data ------------------------------------------------------------------------------

HOSTILE = {
    "candidate": "<script>alert(1)</script>",
    "name": "\"'><img src=x onerror=alert(2)>",
    "company": "Acme\u202eevil\u2066 & <b>Co</b>",
    "title": "</svg><script>alert(3)</script>",
    "event": "q\"><a href=\"https://evil.example\">x</a>",
}


def _hostile_item() -> AuditItem:
    tl = timeline_from_data({
        "candidate": HOSTILE["candidate"], "timezone": "UTC",
        "contacts": {"alice": {"name": HOSTILE["name"], "role": "hiring_manager"}},
        "applications": {"acme": {"company": HOSTILE["company"], "title": HOSTILE["title"]}},
        "events": [
            {"id": "i1", "type": "interview", "at": "2026-03-02T10:00:00Z", "with": ["alice"]},
            {"id": HOSTILE["event"], "type": "status_inquiry", "at": "2026-03-03T09:00:00Z", "to": "alice",
             "channel": "email"},
        ],
    })
    policy = api.load_policy("etiquette")
    report = api.audit(tl, policy, datetime(2026, 3, 10, tzinfo=UTC), engine="reference")
    assert report.findings
    return AuditItem("<b>t</b>.yaml", tl, report, policy)


def test_hostile_names_come_out_as_escaped_text():
    page = render("html", [_hostile_item()])
    root = parse(page)
    assert not list(root.iter("script")) and not list(root.iter("img")) and not list(root.iter("b"))
    assert all(a.get("href", "").startswith("#") for a in root.iter("a"))
    text = text_of(root)
    for value in ("<script>alert(1)</script>", "\"'><img src=x onerror=alert(2)>", "</svg><script>alert(3)</script>"):
        assert value in text  # shown, as text
    assert "Acme\\u202eevil\\u2066 & <b>Co</b>" in text  # bidi controls shown escaped, not applied
    assert "\u202e" not in page and "\u2066" not in page
    assert HOSTILE["event"] in text
    assert "<script>" not in page and "<img" not in page


def test_hostile_finding_messages_are_escaped_too():
    item = _hostile_item()
    root = parse(render("html", [item]))
    messages = [" ".join(text_of(li.find("p")).split()) for li in _findings(root)]
    for f in item.report.findings:
        shown = " ".join(f.message.replace("\u202e", "\\u202e").replace("\u2066", "\\u2066").split())
        assert shown in messages


# -- the summary table --------------------------------------------------------------------------

Row = SummaryRow  # the caseload's rows (engine/report/summary.py), as batch.py hands them over


def test_the_summary_links_each_candidate_to_its_section_and_shows_invalid_files():
    rows = [Row("Alex Moreno", "examples/forgetful.yaml", "t1", 1, 2, 2, "thank-you to Ben Foster",
                datetime(2026, 5, 14, 19, 0, tzinfo=UTC)),
            Row("<script>x</script>", "a<b>.yaml", "t2", 1, 0, 0, None, None),
            Row("", "bad.yaml", "", invalid=True,
                problems=["bad.yaml:3:5: error[timeline.invalid]: `<i>x</i>` is not a timestamp"])]
    fragment = html.summary_table(rows)
    root = parse(html.page_head("t") + fragment + html.page_tail())
    body = next(root.iter("tbody"))
    trs = list(body.iter("tr"))
    assert len(trs) == 3
    first = trs[0].find("td").find("a")
    assert first.get("href") == "#t1" and first.text == "Alex Moreno"
    assert "Thu 14 May 2026 19:00 UTC" in text_of(trs[0])
    assert trs[1].find("td").find("a").text == "<script>x</script>" and not list(root.iter("script"))
    assert "nothing open" in text_of(trs[1])
    assert "invalid" in classes(trs[2]) and trs[2].find("td").find("a") is None
    assert "`<i>x</i>` is not a timestamp" in text_of(trs[2]) and not list(root.iter("i"))


# -- agenda ---------------------------------------------------------------------------------------

def test_agenda_as_html_lists_every_item(capsys):
    html5lib_or_skip()
    code = main(["agenda", str(ROOT / "examples" / "forgetful.yaml"), "--as-of", "2026-05-13T20:00:00Z",
                 "--format", "html", "--engine", "reference"])
    out = capsys.readouterr().out
    assert code == 0
    root = parse(out)
    from engine.decide import agenda
    tl = api.load_timeline(ROOT / "examples" / "forgetful.yaml")
    result = agenda(tl, api.load_policy("etiquette"), datetime(2026, 5, 13, 20, tzinfo=UTC))
    rows = list(next(root.iter("tbody")).iter("tr"))
    assert len(rows) == len(result.items) > 0
    text = " ".join(text_of(root).split())
    assert all(" ".join(i.message.split()) in text for i in result.items)
    assert not list(root.iter("script"))


# -- any timeline -----------------------------------------------------------------------------

_SLOW = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=60, **_SLOW)
@given(audits())
def test_for_any_timeline_the_page_parses_and_has_one_svg_per_application(case):
    """Invariant: for any valid timeline and as-of, the page is conforming HTML with one
    chart per application, and every finding's event links resolve to marks."""
    data, as_of = case
    tl = timeline_from_data(data)
    policy = api.load_policy("etiquette")
    item = AuditItem("t.yaml", tl, api.audit(tl, policy, as_of, engine="reference"), policy)
    root = parse(render("html", [item]))
    charts = [s for s in root.iter("svg") if "chart" in classes(s)]
    assert len(charts) == len(tl.applications)
    ids = by_id(root)
    findings = _findings(root)
    assert len(findings) == len(item.report.findings)
    for li in findings:
        assert all(t in ids for t in _links_of(li))


@settings(max_examples=60, **_SLOW)
@given(candidate=DISPLAY_TEXTS, name=DISPLAY_TEXTS, company=DISPLAY_TEXTS, event=DISPLAY_TEXTS)
def test_for_any_names_the_page_parses_and_shows_them_escaped(candidate, name, company, event):
    """Invariant: whatever text the names, company and ids hold, the page is conforming HTML
    without markup of theirs, and each is shown as its :func:`escape_text` form (noncharacters,
    which HTML does not allow, escaped too)."""
    data = {"candidate": candidate, "timezone": "UTC",
            "contacts": {"alice": {"name": name}}, "applications": {"acme": {"company": company}},
            "events": [{"id": "i0" if event == "i1" else "i1", "type": "interview", "at": "2026-03-02T10:00:00Z",
                        "with": ["alice"]},
                       {"id": event, "type": "status_inquiry", "at": "2026-03-03T09:00:00Z", "to": "alice",
                        "channel": "email"}]}
    tl = timeline_from_data(data)
    policy = api.load_policy("etiquette")
    item = AuditItem("t.yaml", tl, api.audit(tl, policy, datetime(2026, 3, 10, tzinfo=UTC), engine="reference"), policy)
    root = parse(render("html", [item]))
    assert not list(root.iter("script"))
    assert len([s for s in root.iter("svg") if "chart" in classes(s)]) == 1
    assert html.shown(candidate) in text_of(root.find(".//h2"))
    lanes = [text_of(t) for t in root.iter("title")]
    assert html.shown(name) in lanes and html.shown(company) in lanes
    # escaped in context: a joiner is kept between two visible characters, e.g. before the ":"
    assert any(t.startswith(html.shown(event + ": status inquiry")) for t in lanes)


@pytest.mark.parametrize("text, expected", [("a\ufffeb", "a\\ufffeb"), ("\U0010ffff", "\\U0010ffff"),
                                            ("\ufdd0\u202e", "\\ufdd0\\u202e"), ("Zoë 山田", "Zoë 山田")])
def test_noncharacters_are_shown_escaped(text, expected):
    assert html.shown(text) == expected
    assert escape_text(expected) == expected


# -- the axis and the windows, for any input --------------------------------------------------------

from strategies import ALL_ZONES  # noqa: E402

_INSTANTS = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.just(UTC))


@settings(max_examples=200, **_SLOW)
@given(a=_INSTANTS, b=_INSTANTS, zone=st.sampled_from(ALL_ZONES),
       short=st.sampled_from([None, 60, 3600, 6 * 3600, 86400 * 3, 86400 * 40, 86400 * 400]))
def test_axis_ticks_are_few_increasing_and_inside_the_range(a, b, zone, short):
    """Invariant: for any range and zone, the axis has at most MAX_TICKS + 1 ticks, strictly
    increasing, all inside the range, each a whole local hour in the employer's zone."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo
    t0, t1 = min(a, b), max(a, b)
    if short is not None:
        t1 = min(t0 + timedelta(seconds=short), datetime(2199, 12, 31, tzinfo=UTC))
    ticks = html._ticks(t0, t1, zone)
    instants = [t for t, _, _ in ticks]
    assert len(instants) <= html.MAX_TICKS + 1
    assert instants == sorted(set(instants))
    assert all(t0 <= t <= t1 for t in instants)
    assert all(t.astimezone(ZoneInfo(zone)).minute == 0 for t in instants)
    if (t1 - t0).total_seconds() >= 4 * 86400:
        assert ticks, "a range of days or more has labelled ticks"


def _deadline_rules(policy) -> set[str]:
    return {r.id for r in policy.rules if r.kind == "deadline"}


@settings(max_examples=60, **_SLOW)
@given(audits())
def test_a_deadline_window_is_drawn_missed_exactly_when_a_finding_says_so(case):
    """Invariant: for any timeline and as-of, the deadline windows drawn "missed" are exactly
    the deadline findings (rule, event, contact), and a deadline window still open ends after
    the as-of time: the picture never contradicts the findings."""
    data, as_of = case
    tl = timeline_from_data(data)
    policy = api.load_policy("etiquette")
    report = api.audit(tl, policy, as_of, engine="reference")
    deadlines = _deadline_rules(policy)
    per_recipient = {r.id for r in policy.rules if r.kind == "deadline" and getattr(r, "per_recipient", False)}
    wins = html.windows(tl, report, policy)
    missed = {(w.rule, w.event, w.contact) for w in wins if w.status == "missed"}
    found = {(f.rule, f.events[0], f.contact if f.rule in per_recipient else None)
             for f in report.findings if f.rule in deadlines}
    assert missed == found
    assert all(w.end >= as_of for w in wins if w.status == "open")
    assert all(w.start <= w.end for w in wins)


@pytest.mark.parametrize("t0, t1", [("1985-01-01T00:00:00Z", "2000-01-01T00:00:00Z"),
                                    ("1985-12-31T12:00:00Z", "1986-01-01T06:00:00Z")])
def test_a_quarter_hour_offset_change_keeps_every_tick_on_a_whole_local_hour(t0, t1):
    """Asia/Kathmandu went from +05:30 to +05:45 at local midnight of 1986-01-01 (that
    midnight never happened): the axis keeps whole local hours on both sides of it."""
    from zoneinfo import ZoneInfo
    from engine.api import parse_instant
    ticks = html._ticks(parse_instant(t0), parse_instant(t1), "Asia/Kathmandu")
    assert ticks and all(t.astimezone(ZoneInfo("Asia/Kathmandu")).minute == 0 for t, _, _ in ticks)
