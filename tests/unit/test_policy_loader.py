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
    assert sorted(lines) == ["p.yaml:3:5: error[policy.missing-field]: missing required field `max_words`",
                             "p.yaml:7:5: error[policy.unknown-field]: unknown field `max_word`"]


def test_unknown_kind_suggests_the_closest():
    [line] = _errors("policy: p\nrules:\n  - {id: x, kind: dedline, category: overdue, message: m}\n")
    assert line == "p.yaml:3:19: error[policy.unknown-kind]: unknown rule kind `dedline`; did you mean `deadline`?"


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
    assert lines == [
        "p.yaml:8:16: error[policy.unknown-parameter]: unknown parameter `limt`; did you mean `limit`?",
    ]


def test_unknown_placeholder_is_located_at_the_message():
    lines = _errors("""policy: p
parameters: {limit: 200}
rules:
  - id: x
    kind: word-limit
    category: quality
    subject: {type: thank_you}
    max_words: $limit
    message: "over {limits} words, {subject}"
""")
    assert [l.split(": error")[0] for l in lines] == ["p.yaml:9:14", "p.yaml:9:14"]
    assert "`{limits}`" in lines[0] + lines[1] and "`{subject}`" in lines[0] + lines[1]


def test_a_parameter_may_not_shadow_a_finding_field():
    [line] = _errors("policy: p\nparameters: {contact: 2}\nrules: []\n")
    assert line.startswith("p.yaml:2:14: error[policy.reserved-parameter]")


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
