"""The shipped policies carry their own test cases, and CI runs them.

Every shipped policy has a ``<policy>.tests.yaml`` beside it; its cases pass on
every available engine and exercise every enabled rule. The tests files use only
inline timelines, so they run from an installed wheel as well as from a checkout.
The agency policies differ from the default and from each other.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import ENGINES
from engine.cli import main
from engine.policy import load_policy, shipped_policies
from engine.policy.lint import is_tests_file
from engine.policy.show import diff_policies
from engine.policy import testing as policy_testing

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {name: path for name, path in shipped_policies().items() if not is_tests_file(path)}


def test_the_shipped_policies_are_the_default_and_two_agency_variants():
    assert sorted(SHIPPED) == ["agencies/lenient", "agencies/strict", "etiquette"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_policy_passes_its_own_tests_with_every_rule_exercised(name, engine):
    tests = policy_testing.tests_file_for(SHIPPED[name])
    assert tests is not None, f"{SHIPPED[name]} has no tests file beside it"
    result = policy_testing.run_tests_file(tests, engine=engine)
    assert result.problems == []
    failed = {c.name: c.reasons for c in result.cases if c.status != "pass"}
    assert not failed, failed
    done, todo = result.coverage()
    assert todo == [] and done, f"rules of {name} no case exercises: {todo}"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_tests_files_use_inline_timelines_only(name):
    data = yaml.safe_load(policy_testing.tests_file_for(SHIPPED[name]).read_text())
    for case in data["tests"]:
        timeline = case["timeline"]
        assert isinstance(timeline, dict) or timeline in data.get("timelines", {}), (case["name"], timeline)


def test_followup_policy_test_on_the_policies_directory_passes(capsys):
    code = main(["policy", "test", str(ROOT / "policies")])
    out, _ = capsys.readouterr()
    assert code == 0, out
    assert out.count("coverage: ") == 3 and all(
        line.endswith("(100%)") for line in out.splitlines() if "coverage: " in line)
    assert out.splitlines()[-1].endswith("passed, 0 failed")


def test_the_shipped_tests_run_by_policy_name():
    run = policy_testing.run_tests(["etiquette", "agencies/lenient", "agencies/strict"])
    assert run.exit_code == 0 and len(run.files) == 3


def test_each_agency_policy_extends_the_default_and_names_the_schema():
    for name in ("agencies/lenient", "agencies/strict"):
        text = SHIPPED[name].read_text()
        assert text.splitlines()[0] == "# yaml-language-server: $schema=../../docs/schemas/policy.schema.json"
        assert yaml.safe_load(text)["extends"] == "etiquette"
        policy = load_policy(name)
        assert [p.name for p in policy.files] == ["etiquette.yaml", SHIPPED[name].name]


def _values(policy) -> dict:
    rules = {r.id: r for r in policy.rules}
    return {
        "thank_you_within": rules["thank-you-within-24h"].within,
        "inquiries": rules["single-inquiry"].max,
        "max_contacts": rules["contact-frequency"].max,
        "calls": (rules["call-hours"].enabled, rules["call-hours"].start, rules["call-hours"].end,
                  rules["call-hours"].business_days),
        "public_holidays": policy.program.calendar.public_holidays,
        "rules": sorted(r.id for r in policy.rules if r.enabled),
    }


def test_the_agency_policies_differ_meaningfully_from_the_default_and_each_other():
    default, lenient, strict = (load_policy(n) for n in ("etiquette", "agencies/lenient", "agencies/strict"))
    d, l, s = _values(default), _values(lenient), _values(strict)
    assert (d["thank_you_within"], l["thank_you_within"], s["thank_you_within"]) == ("24h", "48h", "24h")
    assert (d["inquiries"], l["inquiries"], s["inquiries"]) == (1, 2, 1)
    assert (d["max_contacts"], l["max_contacts"], s["max_contacts"]) == (2, 2, 1)
    assert d["calls"] == (True, "08:00", "21:00", False)
    assert l["calls"] == (True, "09:00", "17:00", True)
    assert s["calls"][0] is False
    assert d["public_holidays"] and l["public_holidays"] and s["public_holidays"]
    assert set(l["rules"]) - set(d["rules"]) == {"inquiry-spacing"}
    assert set(s["rules"]) - set(d["rules"]) == {"email-only", "no-linkedin-before-decision"}
    assert diff_policies(default, lenient) and diff_policies(default, strict) and diff_policies(lenient, strict)
