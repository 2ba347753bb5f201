"""``check`` and ``agenda`` on the shipped examples, with answers worked out by hand.

Every expected instant below is computed from ``policies/etiquette.yaml`` and the
example's own story, not copied from the engine:

* ``inquiry-after-timetable``: a status inquiry is fine from the timetable's decision
  time plus ``timetable_buffer`` (1bd); a date-only ``decision_by`` is a whole day, so
  the whole of the next business day passes first ("decision by Friday" -> fine from
  Tuesday 00:00). Without a timetable: ``inquiry_wait`` (5bd) after the last interview
  ended, same local time, skipping weekends and public holidays.
* ``contact-frequency``: at most 2 candidate messages (thank-yous aside) in any 7 days
  (elapsed): a third is fine once the oldest of the two is exactly 7 days old.
* ``thank-you-within-24h``: 24 hours of elapsed time after the interview's end.

The CLI tests run ``engine.cli.main`` in-process. Each test runs on every available
engine (the ``engine`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.api import audit, load_timeline, parse_instant
from engine.cli import main
from engine.decide import PlannedAction, agenda, check
from engine.errors import InputError
from helpers import policy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def timeline(name: str):
    return load_timeline(EXAMPLES / f"{name}.yaml")


def decide(name: str, at: str, engine: str, **action):
    """``check`` of ``action`` on examples/``name``.yaml at ``at``, and that timeline."""
    t = timeline(name)
    return check(t, PlannedAction(**action), policy(), parse_instant(at), engine=engine), t


def cited(finding, t) -> list[str]:
    """The events a finding cites, with the planned action written ``ACTION``."""
    return [e if e in t.by_id else "ACTION" for e in finding.events]


def rules(result) -> dict[str, str]:
    return {f.rule: f.severity for f in result.findings}


def changes(result) -> list[dict]:
    return [a.change for a in result.alternatives]


# --------------------------------------------------------------------------- check: premature


def test_inquiry_before_the_decision_date_is_denied_until_the_grace_day_is_over(engine):
    """over-eager: Nadia said "by Friday 17 April". 1bd of grace is Monday 20 April
    (no US or NY holiday), so an inquiry is fine from Tue 21 April 00:00 EDT = 04:00Z."""
    result, t = decide("over-eager", "2026-04-08T10:00:00-04:00", engine,
                       type="status_inquiry", to="nadia", channel="email")
    assert result.decision == "deny"
    assert result.at == "2026-04-08T14:00:00Z"
    assert result.earliest == "2026-04-21T04:00:00Z"
    [finding] = result.findings
    assert (finding.rule, finding.severity, finding.category) == ("inquiry-after-timetable", "violation", "premature")
    assert cited(finding, t) == ["t1", "ACTION"]
    assert finding.due == "2026-04-21T04:00:00Z" and finding.contact == "nadia"
    assert changes(result) == [{"at": "2026-04-21T04:00:00Z"}]
    assert result.policy == "etiquette"


def test_at_the_earliest_instant_the_inquiry_is_allowed_and_a_second_before_it_is_not(engine):
    """The opening instant itself is allowed (not-before is "from"), one second earlier is not."""
    t = timeline("over-eager").until(parse_instant("2026-04-08T10:00:00-04:00"))[0]
    action = PlannedAction(type="status_inquiry", to=["nadia"], channel="email")
    at_opening = check(t, action, policy(), parse_instant("2026-04-21T04:00:00Z"), engine=engine)
    assert at_opening.decision == "allow" and at_opening.findings == [] and at_opening.earliest is None
    before = check(t, action, policy(), parse_instant("2026-04-21T03:59:59Z"), engine=engine)
    assert before.decision == "deny" and before.earliest == "2026-04-21T04:00:00Z"


def test_model_candidate_grace_day_is_monday_16_march(engine):
    """model-candidate: decision by Fri 13 March (Chicago); Monday 16 is the grace day; an
    inquiry that Monday is early, fine from Tue 17 March 00:00 CDT (DST began on 8 March) = 05:00Z."""
    result, t = decide("model-candidate", "2026-03-16T12:00:00-05:00", engine,
                       type="status_inquiry", to="marcus", channel="email")
    assert result.decision == "deny"
    assert result.earliest == "2026-03-17T05:00:00Z"
    assert [(f.rule, cited(f, t)) for f in result.findings] == [("inquiry-after-timetable", ["t1", "ACTION"])]


def test_without_a_timetable_the_wait_is_five_business_days_skipping_juneteenth(engine):
    """two-applications, Summit: no timetable; the interview ended Mon 15 June 11:00 MDT.
    5bd: Tue 16, Wed 17, Thu 18, (Fri 19 Juneteenth, weekend), Mon 22, Tue 23 -> 11:00 MDT = 17:00Z."""
    result, t = decide("two-applications", "2026-06-22T08:00:00-06:00", engine,
                       type="status_inquiry", to="jake", channel="email", application="summit")
    assert result.decision == "deny"
    assert result.earliest == "2026-06-23T17:00:00Z"
    assert [(f.rule, cited(f, t), f.due) for f in result.findings] == [
        ("inquiry-after-timetable", ["s-i1", "ACTION"], "2026-06-23T17:00:00Z")]


def test_a_third_message_in_seven_days_waits_until_the_oldest_is_a_week_old(engine):
    """over-eager as known on Sun 12 April: q1 (Thu 9 April 09:15 EDT) and c1 (Fri 10 April)
    are two messages in the window; a third is fine exactly 7 days after q1: Thu 16 April
    09:15 EDT = 13:15Z."""
    result, t = decide("over-eager", "2026-04-12T10:00:00-04:00", engine,
                       type="contact", to="kevin", channel="email")
    assert result.decision == "deny"
    assert [(f.rule, cited(f, t)) for f in result.findings] == [("contact-frequency", ["q1", "c1", "ACTION"])]
    assert result.earliest == "2026-04-16T13:15:00Z"
    assert changes(result) == [{"at": "2026-04-16T13:15:00Z"}]


# --------------------------------------------------------------------------- check: channel


def test_a_call_to_an_email_preferring_contact_is_denied_with_an_email_alternative(engine):
    """over-eager: Nadia prefers email. A phone call the day after the interview is off-channel:
    waiting never fixes that (earliest null); the alternative is email, now."""
    result, t = decide("over-eager", "2026-04-07T10:00:00-04:00", engine,
                       type="contact", to="nadia", channel="phone")
    assert result.decision == "deny"
    assert result.earliest is None
    assert [(f.rule, f.category, cited(f, t)) for f in result.findings] == [
        ("preferred-channel", "off-channel", ["ACTION"])]
    assert changes(result) == [{"channel": "email"}]
    assert "email" in result.alternatives[0].reason


def test_a_premature_call_gets_an_alternative_on_the_preferred_channel_at_the_opening(engine):
    """Both wrong channel and too early: no `earliest` (the channel stays wrong), but the
    alternative combines the preferred channel with the opening instant."""
    result, _ = decide("over-eager", "2026-04-08T10:00:00-04:00", engine,
                       type="status_inquiry", to="nadia", channel="phone")
    assert result.decision == "deny" and result.earliest is None
    assert rules(result) == {"preferred-channel": "violation", "inquiry-after-timetable": "violation"}
    assert changes(result) == [{"channel": "email", "at": "2026-04-21T04:00:00Z"}]


def test_a_message_to_two_people_offers_the_one_it_may_go_to(engine):
    """A LinkedIn note to Nadia (email only) and Kevin (no preference): switch to email, or
    write to Kevin only."""
    result, _ = decide("over-eager", "2026-04-07T10:00:00-04:00", engine,
                       type="contact", to=["nadia", "kevin"], channel="linkedin")
    assert result.decision == "deny"
    assert {f.rule for f in result.findings} == {"preferred-channel"}
    assert {f.contact for f in result.findings} == {"nadia"}
    assert changes(result) == [{"channel": "email"}, {"to": "kevin"}]


def test_a_late_evening_call_is_allowed_with_a_call_hours_warning(engine):
    """model-candidate: calling Sam (who prefers the phone) at 22:00 his time is allowed --
    call-hours is a warning -- but the warning comes with the answer."""
    result, t = decide("model-candidate", "2026-04-01T22:00:00-05:00", engine,
                       type="contact", to="sam", channel="phone")
    assert result.decision == "allow" and result.earliest is None and result.alternatives == []
    assert [(f.rule, f.severity, cited(f, t)) for f in result.findings] == [("call-hours", "warning", ["ACTION"])]


# --------------------------------------------------------------------------- check: after a rejection


def test_one_feedback_request_after_a_rejection_is_allowed(engine):
    result, _ = decide("rejection", "2026-02-20T08:00:00-05:00", engine,
                       type="feedback_request", to="fiona", channel="email")
    assert result.decision == "allow" and result.findings == [] and result.earliest is None


def test_any_other_contact_after_a_rejection_is_denied_for_good(engine):
    """After Maple Ledger's rejection (r1), a note to Isabelle is harassing: earliest is null
    (waiting never makes it polite) and nothing else is offered."""
    result, t = decide("rejection", "2026-02-20T08:00:00-05:00", engine,
                       type="contact", to="isabelle", channel="email")
    assert result.decision == "deny"
    assert result.earliest is None and result.alternatives == []
    assert [(f.rule, f.category, cited(f, t)) for f in result.findings] == [
        ("no-contact-after-rejection", "harassing", ["r1", "ACTION"])]


def test_a_second_feedback_request_is_denied_and_cites_the_first(engine):
    result, t = decide("rejection", "2026-02-24T08:00:00-05:00", engine,
                       type="feedback_request", to="isabelle", channel="email")
    assert result.decision == "deny" and result.earliest is None
    by_rule = {f.rule: cited(f, t) for f in result.findings}
    assert by_rule["no-contact-after-rejection"] == ["f1", "ACTION"]


def test_do_not_contact_applies_to_the_named_person_only(engine):
    """Greg asked that Fiona not be contacted (d1): a note to Fiona breaks it; a note to
    Greg does not (it is still contact after the rejection)."""
    to_fiona, t = decide("rejection", "2026-03-01T10:00:00-05:00", engine, type="contact", to="fiona",
                         channel="email")
    assert to_fiona.decision == "deny" and to_fiona.earliest is None
    assert {f.rule: cited(f, t) for f in to_fiona.findings}["do-not-contact"] == ["d1", "ACTION"]
    to_greg, _ = decide("rejection", "2026-03-01T10:00:00-05:00", engine, type="contact", to="greg",
                        channel="email")
    assert to_greg.decision == "deny"
    assert "do-not-contact" not in rules(to_greg) and "no-contact-after-rejection" in rules(to_greg)


def test_contact_at_the_instant_of_a_rejection_is_denied(engine):
    """Events at ``at`` are part of what the candidate knows: a note sent at the very
    instant the rejection is recorded is still contact after the rejection."""
    result, _ = decide("rejection", "2026-02-19T15:00:00-05:00", engine, type="contact", to="isabelle",
                       channel="email")
    assert result.decision == "deny"


# --------------------------------------------------------------------------- check: thank-yous, input errors


def test_a_thank_you_within_24_hours_is_allowed(engine):
    """forgetful: the on-site ended Wed 13 May 12:00 PDT; Ben's thank-you at 18:00 is in time."""
    result, _ = decide("forgetful", "2026-05-13T18:00:00-07:00", engine, type="thank_you", to="ben",
                       channel="email")
    assert result.decision == "allow" and result.findings == [] and result.earliest is None


def test_a_late_thank_you_is_still_allowed(engine):
    """The overdue finding is about the interview (it fires whether or not a late note follows),
    not about the note: sending one late is allowed, and nothing cites it."""
    result, _ = decide("forgetful", "2026-05-15T08:00:00-07:00", engine, type="thank_you", to="ben",
                       channel="email")
    assert result.decision == "allow" and result.findings == []


def test_the_action_must_name_its_application_when_there_are_several(engine):
    with pytest.raises(InputError) as info:
        decide("two-applications", "2026-06-22T08:00:00-06:00", engine, type="status_inquiry", to="jake",
               channel="email")
    assert [p.code for p in info.value.problems] == ["action.missing-application"]


def test_unknown_contacts_and_applications_are_input_errors(engine):
    for action, code in [({"to": "zed"}, "action.unknown-contact"),
                         ({"to": "nadia", "application": "acme"}, "action.unknown-application")]:
        with pytest.raises(InputError) as info:
            decide("over-eager", "2026-04-08T10:00:00-04:00", engine, type="status_inquiry", channel="email",
                   **action)
        assert [p.code for p in info.value.problems] == [code]


def test_check_needs_a_time_and_an_aware_one(engine):
    t = timeline("over-eager")
    with pytest.raises(InputError) as info:
        check(t, PlannedAction(type="contact", to=["kevin"], channel="email"), policy(), engine=engine)
    assert [p.code for p in info.value.problems] == ["action.no-time"]
    with_at = PlannedAction(type="contact", to=["kevin"], channel="email", at="2026-04-07T10:00:00-04:00")
    assert check(t, with_at, policy(), engine=engine).at == "2026-04-07T14:00:00Z"


# --------------------------------------------------------------------------- agenda


def items(result, kind=None) -> list:
    return [i for i in result.items if kind is None or i.kind == kind]


def test_agenda_lists_a_thank_you_per_interviewer_with_deadline_and_preferred_channel(engine):
    """over-eager, 15:30 EDT on the interview day (it ended 15:00 EDT = 19:00Z): each
    interviewer is owed a thank-you by 19:00Z the next day; Nadia asked for email."""
    result = agenda(timeline("over-eager"), policy(), parse_instant("2026-04-06T15:30:00-04:00"), engine=engine)
    assert result.as_of == "2026-04-06T19:30:00Z" and result.policy == "etiquette"
    due = {(i.contact, i.rule, i.due, i.channel) for i in items(result, "due")}
    assert due == {("nadia", "thank-you-within-24h", "2026-04-07T19:00:00Z", "email"),
                   ("kevin", "thank-you-within-24h", "2026-04-07T19:00:00Z", None)}
    [window] = items(result, "inquiry-window")
    assert (window.contact, window.channel, window.due) == ("nadia", "email", "2026-04-21T04:00:00Z")
    assert items(result, "overdue") == [] and items(result, "prohibition") == []


def test_agenda_marks_missed_thank_yous_overdue(engine):
    """forgetful at midnight after the deadline (Thu 14 May 12:00 PDT = 19:00Z): Linda was
    thanked in time; Raj and Ben were not (yet)."""
    result = agenda(timeline("forgetful"), policy(), parse_instant("2026-05-15T00:00:00-07:00"), engine=engine)
    thanks = {(i.kind, i.contact, i.due) for i in result.items if i.rule == "thank-you-within-24h"}
    assert thanks == {("overdue", "ben", "2026-05-14T19:00:00Z"), ("overdue", "raj", "2026-05-14T19:00:00Z")}
    assert all("late" in i.message for i in items(result, "overdue"))


def test_agenda_owes_a_second_thank_you_to_a_second_round_interviewer(engine):
    """panel-rounds, after round 2 (ended 18:00 London = 17:00Z): Olivia, interviewed again,
    is owed a new note (by email, her preference), and so is Wei."""
    result = agenda(timeline("panel-rounds"), policy(), parse_instant("2026-09-17T20:00:00+01:00"), engine=engine)
    due = {(i.contact, i.due, i.channel) for i in items(result, "due") if i.rule == "thank-you-within-24h"}
    assert due == {("olivia", "2026-09-18T17:00:00Z", "email"), ("wei", "2026-09-18T17:00:00Z", None)}


def test_agenda_inquiry_window_open_now(engine):
    """model-candidate on Tue 17 March 08:00 CDT: the window opened at 00:00; its `due` is now."""
    result = agenda(timeline("model-candidate"), policy(), parse_instant("2026-03-17T08:00:00-05:00"),
                    engine=engine)
    [window] = items(result, "inquiry-window")
    assert (window.contact, window.channel, window.due) == ("marcus", "email", "2026-03-17T13:00:00Z")
    assert "allowed now" in window.message


def test_agenda_inquiry_window_per_application(engine):
    """two-applications the day after Summit's interview: Summit's window opens Tue 23 June
    11:00 MDT (5bd, Juneteenth skipped); Redwood has had no interview yet, so no window."""
    result = agenda(timeline("two-applications"), policy(), parse_instant("2026-06-16T12:00:00-06:00"),
                    engine=engine)
    windows = {(i.application, i.contact, i.due) for i in items(result, "inquiry-window")}
    assert windows == {("summit", "jake", "2026-06-23T17:00:00Z")}


def test_agenda_after_a_rejection_asks_for_feedback_and_forbids_the_rest(engine):
    """rejection, an hour after r1 (Thu 19 Feb 15:00 EST = 20:00Z): a feedback request is
    due within 7 days (by 26 Feb 20:00Z, to Greg who sent it, by email); further contact is
    prohibited; no inquiry window any more."""
    result = agenda(timeline("rejection"), policy(), parse_instant("2026-02-19T16:00:00-05:00"), engine=engine)
    [feedback] = [i for i in result.items if i.rule == "feedback-after-rejection"]
    assert (feedback.kind, feedback.contact, feedback.due, feedback.channel) == (
        "due", "greg", "2026-02-26T20:00:00Z", "email")
    [prohibition] = items(result, "prohibition")
    assert (prohibition.rule, prohibition.contact, prohibition.due) == ("no-contact-after-rejection", None, None)
    assert "r1" in prohibition.message
    assert items(result, "inquiry-window") == []


def test_agenda_lists_a_do_not_contact_request_for_the_named_person(engine):
    result = agenda(timeline("rejection"), policy(), parse_instant("2026-02-24T00:00:00-05:00"), engine=engine)
    prohibitions = {(i.rule, i.contact) for i in items(result, "prohibition")}
    assert prohibitions == {("no-contact-after-rejection", None), ("do-not-contact", "fiona")}
    assert [i for i in result.items if i.rule == "feedback-after-rejection"] == []  # f1 was sent


def test_agenda_ignores_events_after_as_of(engine):
    """As of the interview's end, the thank-yous sent that evening are still ahead."""
    early = agenda(timeline("over-eager"), policy(), parse_instant("2026-04-06T15:00:00-04:00"), engine=engine)
    late = agenda(timeline("over-eager"), policy(), parse_instant("2026-04-06T18:30:00-04:00"), engine=engine)
    assert {i.contact for i in items(early, "due")} == {"nadia", "kevin"}
    assert items(late, "due") == []  # both thanked by 18:20


# --------------------------------------------------------------------------- CLI


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


INQUIRY = '{"type": "status_inquiry", "to": "nadia", "channel": "email"}'


def test_cli_check_deny_exits_1(capsys, engine):
    code, out, err = run(capsys, "check", EXAMPLES / "over-eager.yaml", "--action", INQUIRY,
                         "--at", "2026-04-08T10:00:00-04:00", "--engine", engine)
    assert code == 1, err
    assert out.startswith("DENY at Wed 08 Apr 2026 10:00 EDT")
    assert "inquiry-after-timetable" in out and "Tue 21 Apr 2026 00:00 EDT" in out
    assert "Traceback" not in err


def test_cli_check_allow_exits_0(capsys, engine):
    code, out, err = run(capsys, "check", EXAMPLES / "model-candidate.yaml", "--action",
                         '{"type": "thank_you", "to": "elena", "channel": "email"}',
                         "--at", "2026-03-03T16:00:00-06:00", "--engine", engine)
    assert code == 0, err
    assert out.startswith("ALLOW")


def test_cli_check_json_is_the_check_result(capsys, engine):
    code, out, _ = run(capsys, "check", EXAMPLES / "over-eager.yaml", "--action", INQUIRY,
                       "--at", "2026-04-08T10:00:00-04:00", "--engine", engine, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"decision", "at", "earliest", "findings", "alternatives", "policy"}
    assert (data["decision"], data["at"], data["earliest"]) == ("deny", "2026-04-08T14:00:00Z",
                                                                "2026-04-21T04:00:00Z")
    assert [f["rule"] for f in data["findings"]] == ["inquiry-after-timetable"]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_cli_check_reads_the_action_from_a_file_with_its_own_at(capsys, tmp_path, engine, suffix):
    action = {"type": "contact", "to": ["kevin"], "channel": "email", "at": "2026-04-12T10:00:00-04:00"}
    path = tmp_path / f"action{suffix}"
    path.write_text(json.dumps(action), encoding="utf-8")  # JSON is YAML too
    code, out, err = run(capsys, "check", EXAMPLES / "over-eager.yaml", "--action", f"@{path}",
                         "--format", "json", "--engine", engine)
    assert code == 1, err
    data = json.loads(out)
    assert (data["at"], data["earliest"]) == ("2026-04-12T14:00:00Z", "2026-04-16T13:15:00Z")
    # --at overrides the action's own `at`: before q1 and c1 the same note is fine
    code, out, _ = run(capsys, "check", EXAMPLES / "over-eager.yaml", "--action", f"@{path}",
                       "--at", "2026-04-08T10:00:00-04:00", "--format", "json", "--engine", engine)
    assert code == 0 and json.loads(out)["decision"] == "allow"


def test_cli_check_invalid_action_exits_2_with_a_located_line(capsys, engine):
    action = '{"type": "status_inquiry", "to": "nadia", "channel": "fax"}'
    code, out, err = run(capsys, "check", EXAMPLES / "over-eager.yaml", "--action", action,
                         "--at", "2026-04-08T10:00:00-04:00", "--engine", engine)
    assert code == 2 and out == ""
    col = action.index('"fax"') + 1
    assert err.startswith(f"--action:1:{col}: error[action.invalid]: `channel`"), err
    assert "Traceback" not in err


@pytest.mark.parametrize("action,code_name", [
    ('{"type": "status_inquiry", "to": "zed", "channel": "email"}', "action.unknown-contact"),
    ('{"type": "wave", "to": "nadia", "channel": "email"}', "action.invalid"),
    ('{"type": "status_inquiry", "to": "nadia", "channel": "email"', "yaml.syntax"),
    ('{"type": "status_inquiry", "to": "nadia", "channel": "email", "extra": 1}', "action.unknown-field"),
])
def test_cli_check_bad_actions_exit_2(capsys, engine, action, code_name):
    code, out, err = run(capsys, "check", EXAMPLES / "over-eager.yaml", "--action", action,
                         "--at", "2026-04-08T10:00:00-04:00", "--engine", engine)
    assert code == 2 and out == ""
    assert f"error[{code_name}]" in err and "Traceback" not in err


def test_cli_check_missing_action_file_exits_2(capsys, tmp_path, engine):
    code, out, err = run(capsys, "check", EXAMPLES / "over-eager.yaml", "--action", f"@{tmp_path / 'nope.json'}",
                         "--at", "2026-04-08T10:00:00-04:00", "--engine", engine)
    assert code == 2 and out == "" and err.strip() and "Traceback" not in err


def test_cli_agenda_text(capsys, engine):
    code, out, err = run(capsys, "agenda", EXAMPLES / "over-eager.yaml", "--as-of", "2026-04-06T15:30:00-04:00",
                         "--engine", engine)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Agenda for Jordan Blake as of Mon 06 Apr 2026 15:30 EDT")
    assert any("Brightline Health" in ln and "[brightline]" in ln for ln in lines)
    assert any(ln.split()[:1] == ["due"] and "Nadia Hassan by email" in ln for ln in lines)
    assert any(ln.split()[:1] == ["inquiry-window"] for ln in lines)


def test_cli_agenda_json(capsys, engine):
    code, out, err = run(capsys, "agenda", EXAMPLES / "rejection.yaml", "--as-of", "2026-02-24T00:00:00-05:00",
                         "--engine", engine, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"as_of", "policy", "items"}
    assert data["as_of"] == "2026-02-24T05:00:00Z"
    assert {(i["kind"], i["rule"], i["contact"]) for i in data["items"]} == {
        ("prohibition", "no-contact-after-rejection", None), ("prohibition", "do-not-contact", "fiona")}


def test_cli_agenda_bad_as_of_exits_2(capsys, engine):
    code, out, err = run(capsys, "agenda", EXAMPLES / "rejection.yaml", "--as-of", "2026-02-24T00:00:00",
                         "--engine", engine)
    assert code == 2 and out == "" and "no UTC offset" in err


# --------------------------------------------------------------------------- the planned message in words

#: for each rule kind of the shipped policy, a planned message that breaks one of its rules:
#: (kind, rule, example, at, action, how the message names the planned action)
_Y1 = ("Dear Nadia, thank you for the conversation about the scheduling product. Your description of the "
       "no-show problem in the outpatient clinics is exactly the kind of problem I like to work on. Best regards, Jordan")
PLANNED_BY_KIND = [
    ("channel", "preferred-channel", "over-eager", "2026-04-08T13:00:00Z",
     dict(type="status_inquiry", to="nadia", channel="phone"), "the planned status inquiry went to Nadia Hassan"),
    ("not-before", "inquiry-after-timetable", "over-eager", "2026-04-08T13:00:00Z",
     dict(type="status_inquiry", to="nadia", channel="email"), "the planned status inquiry to Nadia Hassan came too early"),
    ("limit", "single-inquiry", "over-eager", "2026-04-22T13:00:00Z",
     dict(type="status_inquiry", to="nadia", channel="email"), "the planned status inquiry to Nadia Hassan follows q2"),
    ("limit", "contact-frequency", "over-eager", "2026-04-13T16:00:00Z",
     dict(type="feedback_request", to="nadia", channel="email"), "the planned feedback request makes 3 messages"),
    ("hours", "call-hours", "over-eager", "2026-04-22T03:00:00Z",
     dict(type="status_inquiry", to="nadia", channel="phone"), "the planned status inquiry reached Nadia Hassan by phone"),
    ("phrases", "inquiry-tone", "over-eager", "2026-04-22T13:00:00Z",
     dict(type="status_inquiry", to="nadia", channel="email", body="I am still waiting for news"),
     "the planned status inquiry sounds impatient"),
    ("word-limit", "thank-you-brief", "over-eager", "2026-04-06T22:30:00Z",
     dict(type="thank_you", to="kevin", channel="email", body="thanks " * 201), "the planned thank-you to Kevin O'Brien runs over"),
    ("identical-bodies", "thank-you-customized", "over-eager", "2026-04-06T22:30:00Z",
     dict(type="thank_you", to="kevin", channel="email", body=_Y1), "the planned thank-you to Kevin O'Brien repeats y1"),
    ("forbidden-after", "no-contact-after-rejection", "rejection", "2026-03-10T14:00:00Z",
     dict(type="contact", to="greg", channel="email"), "the planned message to Greg"),
    ("forbidden-after", "do-not-contact", "rejection", "2026-03-10T14:00:00Z",
     dict(type="contact", to="fiona", channel="email"), "the planned message to Fiona McLeod after a request not to be contacted"),
]


def _leaks_the_id(message: str) -> bool:
    """Whether ``message`` names the planned action by its placeholder id ``planned``."""
    import re
    return re.search(r"\bplanned\b", message.replace("the planned ", "")) is not None


@pytest.mark.parametrize("kind, rule, example, at, action, words", PLANNED_BY_KIND,
                         ids=[f"{k}:{r}" for k, r, *_ in PLANNED_BY_KIND])
def test_check_names_the_planned_message_in_words_for_every_kind(kind, rule, example, at, action, words, engine):
    """Issue 10: check said "status inquiry planned went to Nadia Hassan"; each rule kind that can cite
    the planned message now names it in words, and no message shows its placeholder id."""
    result, t = decide(example, at, engine, **action)
    assert policy().rule(rule).kind == kind
    messages = {f.rule: f.message for f in result.findings}
    assert rule in messages, messages
    assert words in messages[rule]
    assert not any(_leaks_the_id(m) for m in messages.values()), messages
    assert any("ACTION" in cited(f, t) for f in result.findings if f.rule == rule)


def test_the_planned_message_table_covers_every_kind_that_can_cite_it():
    """Every rule kind of the shipped policy is in the table above but ``deadline``, whose findings
    are about the event that started the clock (next test)."""
    from engine.rules import REGISTRY
    shipped = {r.kind for r in policy().rules}
    assert {k for k, *_ in PLANNED_BY_KIND} == shipped - {"deadline"} == set(REGISTRY) - {"deadline"}


def test_a_deadline_the_planned_message_starts_is_not_overdue_when_it_is_sent(engine):
    """Even due the moment it is sent (``within: 0h``), a deadline the planned message starts has no
    finding in its check, so no deadline message can be about the planned message."""
    from engine.policy import policy_from_text
    text = ("policy: reply-now\nversion: 1\nrules:\n"
            "  - {id: reply-at-once, kind: deadline, severity: violation, category: missed,\n"
            "     trigger: {type: status_inquiry}, expect: {type: employer}, within: 0h,\n"
            "     message: \"{what} to {contact} got no answer by {due}\"}\n")
    p = policy_from_text(text, "reply-now.policy.yaml")
    t = timeline("over-eager")
    result = check(t, PlannedAction(type="status_inquiry", to="nadia", channel="email"), p,
                   parse_instant("2026-04-22T13:00:00Z"), engine=engine)
    assert result.findings == [] and result.decision == "allow"
    assert [f.rule for f in audit(t, p, parse_instant("2026-04-22T13:00:00Z"), engine=engine).findings] \
        == ["reply-at-once", "reply-at-once"]  # the rule does fire, on the recorded inquiries


def test_agenda_messages_never_show_the_placeholder_id(engine):
    """The agenda's items (its inquiry windows come from check) name no planned id."""
    for name, as_of in [("panel-rounds", "2026-09-14T12:00:00Z"), ("over-eager", "2026-04-08T13:00:00Z"),
                        ("rejection", "2026-02-19T16:00:00Z"), ("forgetful", "2026-05-13T20:00:00Z")]:
        result = agenda(timeline(name), policy(), parse_instant(as_of), engine=engine)
        assert result.items
        assert not any(_leaks_the_id(i.message) for i in result.items), [i.message for i in result.items]
