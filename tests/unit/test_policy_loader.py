"""Policy loading: located, coded, collected errors; parameters; the shipped policy."""

from __future__ import annotations

import pytest

from engine import InputError, load_policy
from engine.policy import policy_from_text, shipped_policies

DESIGN_RULE_IDS = {
    "timetable-asked", "thank-you-within-24h", "thank-you-customized", "thank-you-brief", "preferred-channel",
    "inquiry-after-timetable", "single-inquiry", "no-contact-after-rejection", "feedback-after-rejection",
    "do-not-contact", "contact-frequency",
}


def _errors(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        policy_from_text(text, "p.yaml")
    return info.value.lines()


def test_etiquette_has_every_rule_id_of_the_design():
    policy = load_policy("etiquette")
    assert DESIGN_RULE_IDS <= {r.id for r in policy.rules}


def test_shipped_policies_are_found_by_name():
    assert "etiquette" in shipped_policies()


def test_unknown_field_in_a_rule_is_located_at_the_key():
    lines = _errors("""policy: p
rules:
  - id: brief
    kind: word-limit
    category: quality
    subject: {type: thank_you}
    max_word: 200
    message: too long
""")
    assert lines == ["p.yaml:7:5: error[policy.unknown-field]: unknown field `max_word`",
                     "p.yaml:3:5: error[policy.missing-field]: missing required field `max_words`"] or \
        sorted(lines) == sorted(["p.yaml:7:5: error[policy.unknown-field]: unknown field `max_word`",
                                 "p.yaml:3:5: error[policy.missing-field]: missing required field `max_words`"])


def test_unknown_kind_suggests_the_closest():
    [line] = _errors("policy: p\nrules:\n  - {id: x, kind: dedline, category: overdue, message: m}\n")
    assert line.startswith("p.yaml:3:23: error[policy.unknown-kind]: unknown rule kind `dedline`; did you mean `deadline`?")


def test_bad_duration_is_an_error_at_the_value():
    [line] = _errors("""policy: p
rules:
  - id: x
    kind: deadline
    category: overdue
    message: m
    trigger: {type: interview}
    expect: {type: thank_you}
    within: 24 hours
""")
    assert line.startswith("p.yaml:9:13: error[policy.invalid]:")
    assert "`24 hours` is not a duration" in line


def test_unknown_parameter_and_placeholder_are_reported_together():
    lines = _errors("""policy: p
parameters: {limit: 200}
rules:
  - id: x
    kind: word-limit
    category: quality
    subject: {type: thank_you}
    max_words: $limt
    message: "over {limits} words"
""")
    assert any("error[policy.unknown-parameter]: unknown parameter `limt`; did you mean `limit`?" in l for l in lines)
    assert any(l.startswith("p.yaml:9:14: error[policy.unknown-placeholder]") for l in lines)


def test_duplicate_rule_ids_are_an_error():
    lines = _errors("""policy: p
rules:
  - {id: x, kind: channel, category: off-channel, message: m}
  - {id: x, kind: channel, category: off-channel, message: m}
""")
    assert lines == ["p.yaml:4:10: error[policy.duplicate-id]: duplicate rule id `x` (also rules[0])"]


def test_parameters_feed_rule_fields_and_messages():
    policy = policy_from_text("""policy: p
parameters: {words: {value: 50, description: d}}
rules:
  - {id: x, kind: word-limit, category: quality, subject: {type: thank_you}, max_words: $words,
     message: "over {words} words"}
""")
    assert policy.rules[0].max_words == 50
    assert ("words", "50") in policy.program.nodes[0].meta.values


def test_disabled_rules_are_validated_but_not_run():
    policy = policy_from_text("""policy: p
rules:
  - {id: x, kind: channel, category: off-channel, message: m, enabled: false}
""")
    assert [r.id for r in policy.rules] == ["x"] and policy.program.nodes == ()


def test_malformed_yaml_is_located():
    [line] = _errors("policy: p\nrules: [\n")
    assert line.startswith("p.yaml:3:1: error[yaml.syntax]: malformed YAML/JSON")
