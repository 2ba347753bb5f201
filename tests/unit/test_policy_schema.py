"""The published policy schema: draft-07 only, and every shipped policy validates against it."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from engine.policy import policy_json_schema, shipped_policies

ROOT = Path(__file__).resolve().parents[2]
#: keywords that appeared after draft-07; YAML language servers do not understand them
NEWER_KEYWORDS = {"$defs", "prefixItems", "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
                  "dependentSchemas", "$anchor", "$dynamicRef", "$dynamicAnchor", "minContains", "maxContains"}


def _keys(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _keys(v)
    elif isinstance(node, list):
        for v in node:
            yield from _keys(v)


def test_policy_schema_is_a_valid_draft_07_schema_without_newer_keywords():
    schema = policy_json_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    assert not NEWER_KEYWORDS & set(_keys(schema))


@pytest.mark.parametrize("name", sorted(shipped_policies()))
def test_every_shipped_policy_validates_against_the_schema_and_names_it(name):
    path = shipped_policies()[name]
    text = path.read_text()
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema_ref = (path.parent / first.split("=", 1)[1].strip()).resolve()
    assert schema_ref == (ROOT / "docs" / "schemas" / "policy.schema.json").resolve()
    errors = list(jsonschema.Draft7Validator(policy_json_schema()).iter_errors(yaml.safe_load(text)))
    assert not errors, [e.message for e in errors]


def test_the_schema_rejects_an_unknown_rule_field():
    doc = {"policy": "p", "rules": [{"id": "x", "kind": "channel", "category": "off-channel", "message": "m",
                                     "channl": "email"}]}
    assert list(jsonschema.Draft7Validator(policy_json_schema()).iter_errors(doc))
