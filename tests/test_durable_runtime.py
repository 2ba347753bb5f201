"""Tests for engine.backends._durable_runtime, the fenced durable-rules runtime.

Anything that drives durable sessions runs in a subprocess (tests/durable_scripts/
scenarios.py) so that a crash in the C extension fails one test instead of killing
pytest. Each scenario runs twice: as is, and with ``MALLOC_PERTURB_`` set, which makes
glibc fill freed and fresh heap blocks with garbage so that use of uninitialised or
freed memory (e.g. defect 3, deleting a session in which no action ran) crashes
reliably instead of by luck; a negative control checks that it does. The tests in
this process touch only pure-Python parts (hashing, id pools, shapes, validation).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = Path(__file__).resolve().parent / "durable_scripts" / "scenarios.py"

try:
    from engine.backends import _durable_runtime as dr
except ImportError as exc:  # e.g. Python 3.13: the extension does not load
    if "durable-rules cannot be imported" not in str(exc):
        raise  # the project itself is broken: do not hide that behind a skip
    dr = None
    WHY = str(exc)
else:
    WHY = ""

needs_durable = pytest.mark.skipif(dr is None, reason=f"durable-rules unavailable: {WHY}")

# scenario -> the line it must print last
EXPECTED = {
    "collide": "OK collide",
    "signed_hash": "OK signed_hash",
    "or_rules": "OK or_rules",
    "many": "OK many 1500 evaluations over 16 session ids",
    "noaction": "OK noaction 2000 evaluations, 143 user firings",
    "false_last_operand": "OK false_last_operand 400 evaluations",
    "action_error": "OK action_error",
    "deadline": "OK deadline",
    "absence_order": "OK absence_order (ungated control wrong in 10 of 24 orders)",
    "unhandled": "OK unhandled",
    "failure_midway": "OK failure_midway",
    "limits": "OK limits",
    "inputs": "OK inputs",
}


def start_scenario(name: str, perturb: bool) -> subprocess.Popen:
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    if perturb:
        env["MALLOC_PERTURB_"] = "165"
    return subprocess.Popen([sys.executable, str(SCENARIOS), name], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


@needs_durable
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario_in_subprocess(name):
    """The scenario passes as is and under MALLOC_PERTURB_ (both run at once)."""
    procs = {variant: start_scenario(name, variant == "perturbed") for variant in ("plain", "perturbed")}
    results = {}
    for variant, proc in procs.items():
        try:
            results[variant] = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            results[variant] = proc.communicate()
    for variant, (out, err) in results.items():
        rc = procs[variant].returncode
        detail = f"{variant}: rc={rc}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"
        assert rc == 0, detail
        assert out.strip().splitlines()[-1:] == [EXPECTED[name]], detail


@needs_durable
def test_perturbation_exposes_delete_without_action():
    """Negative control: the defect the clock rule avoids does crash in a perturbed run."""
    proc = start_scenario("control_delete_without_action", perturb=True)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "survived" not in out, (proc.returncode, out, err[-2000:])


def test_import_fails_cleanly_without_durable():
    code = (
        "import sys\n"
        "sys.modules['durable'] = None  # as if the extension could not load\n"
        "try:\n"
        "    import engine.backends._durable_runtime\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ImportError: durable-rules cannot be imported on Python")
    assert "reference backend" in proc.stdout


# ---------------------------------------------------------------- pure Python


@needs_durable
class TestIds:
    def test_fnv1a32_matches_textbook_on_ascii(self):
        assert dr.fnv1a32("") == 0x811C9DC5
        assert dr.fnv1a32("a") == 0xE40C292C
        assert dr.fnv1a32("foobar") == 0xBF9CF968

    def test_known_colliding_application_ids(self):
        assert dr.fnv1a32("application-20349") == dr.fnv1a32("application-415824")

    def test_non_ascii_bytes_are_sign_extended_like_durable(self):
        # durable (signed char) collides these; textbook FNV-1a does not, and vice versa
        assert dr.fnv1a32("é-277757") == dr.fnv1a32("é-1525130")
        assert dr.fnv1a32("é-709442") != dr.fnv1a32("é-1897580")

    def test_pool_ids_have_distinct_hashes(self):
        pool = dr.IdPool("e")
        ids = pool.take(20000)
        assert ids[:3] == ["e0", "e1", "e2"]
        assert len({dr.fnv1a32(i) for i in ids}) == len(ids) == len(pool)

    def test_pool_skips_collisions_and_reserved(self):
        pool = dr.IdPool("application-", reserved=["application-1"])
        assert pool.take(2) == ["application-0", "application-2"]
        assert pool.skipped == ["application-1"]
        # skipping is by hash, not by string: this reserved name blocks its FNV twin
        pool = dr.IdPool("application-", reserved=["application-415824"])
        ids = pool.take(20350)
        assert "application-20349" not in ids and pool.skipped == ["application-20349"]

    def test_runtime_fact_ids_avoid_session_state_ids(self):
        rt = dr.Runtime()
        assert len(rt._sessions) == dr.Runtime.SESSION_POOL_SIZE <= dr.MAX_LIVE_SESSIONS
        state_ids = {dr.fnv1a32(f"sid-{s}") for s in rt._sessions}
        assert not state_ids & {dr.fnv1a32(i) for i in rt._fact_ids.take(5000)}


@needs_durable
class TestShapes:
    def test_leaf_helpers(self):
        assert dr.eq("type", "inquiry") == {"type": "inquiry"}
        assert dr.eq("x", dr.ref("a", "x")) == {"x": {"a": "x"}}
        assert dr.neq("v", 3) == {"$neq": {"v": 3}}
        assert dr.lt("v", 1.5) == {"$lt": {"v": 1.5}}
        assert dr.lte("v", True) == {"$lte": {"v": True}}
        assert dr.gte("ts", dr.ref("i", "ts")) == {"$gte": {"ts": {"i": "ts"}}}
        assert dr.gt("ts", dr.ref("i", "ts", plus=86400)) == {
            "$gt": {"ts": {"$add": {"$l": {"i": "ts"}, "$r": 86400}}}}
        assert dr.gt("ts", dr.ref("i", "ts", plus=-60)) == {
            "$gt": {"ts": {"$sub": {"$l": {"i": "ts"}, "$r": 60}}}}
        assert dr.exists("k") == {"$ex": {"k": 1}}
        assert dr.missing("k") == {"$nex": {"k": 1}}
        with pytest.raises(TypeError):
            dr.eq("x", {"a": "x"})  # a dict would be read as a reference

    def test_pattern_adds_the_sentinel_only_when_correlated(self):
        assert dr.pattern("a", dr.eq("type", "x")) == {"a": {"type": "x"}}
        assert dr.pattern("a", dr.eq("type", "x"), dr.gt("v", 1)) == {
            "a": {"$and": [{"type": "x"}, {"$gt": {"v": 1}}]}}
        assert dr.pattern("b", dr.eq("type", "y"), dr.gt("ts", dr.ref("a", "ts"))) == {
            "b": {"$and": [{"type": "y"}, {"$gt": {"ts": {"a": "ts"}}}, {"one": {"a": "one"}}]}}
        assert dr.none(dr.eq("type", "t"), dr.lt("ts", dr.ref("q", "ts"))) == {
            "$not": {"$and": [{"type": "t"}, {"$lt": {"ts": {"q": "ts"}}}, {"one": {"q": "one"}}]}}

    def test_rule_names_absences_and_correlates_every_later_pattern(self):
        r = dr.rule(dr.pattern("a", dr.eq("t", "a")), dr.pattern("b", dr.eq("t", "b")),
                    dr.none(dr.eq("t", "c")), pri=7)
        assert r == {"all": [
            {"a": {"t": "a"}},
            {"b": {"$and": [{"t": "b"}, {"one": {"a": "one"}}]}},
            {"none2$not": {"$and": [{"t": "c"}, {"one": {"a": "one"}}]}},
        ], "pri": 7}
        assert "pri" not in dr.rule(dr.pattern("a", dr.eq("t", "a")))

    def test_clock_gate_goes_before_the_first_absence(self):
        d = {"r": dr.rule(dr.pattern("q1", dr.eq("type", "inquiry")),
                          dr.pattern("q2", dr.eq("type", "inquiry"), dr.gt("ts", dr.ref("q1", "ts"))),
                          dr.none(dr.eq("type", "contact"), dr.gt("ts", dr.ref("q1", "ts"))))}
        gated = dr._with_clock_gate(d)["r"]["all"]
        assert [next(iter(p)) for p in gated] == ["q1", "q2", "__now", "none2$not"]
        assert gated[2] == {"__now": {"$and": [{"type": "clock"}, {"one": {"q1": "one"}}]}}
        # a rule that binds the clock itself before its absence is left alone
        d2 = {"r": dr.rule(dr.pattern("i", dr.eq("type", "interview")),
                           dr.pattern("now", dr.eq("type", "clock")),
                           dr.none(dr.eq("type", "thank_you")))}
        assert dr._with_clock_gate(d2) == d2

    def test_ruleset_name_is_a_content_hash(self):
        a = {"x": dr.rule(dr.pattern("m", dr.eq("t", 1))), "y": dr.rule(dr.pattern("m", dr.eq("t", 2)))}
        b = {"y": a["y"], "x": a["x"]}
        c = {"x": a["x"]}
        assert dr.ruleset_name(a) == dr.ruleset_name(b) != dr.ruleset_name(c)
        assert dr.ruleset_name(a).startswith("rs_")


def _ok_later():
    return {"b": {"$and": [{"t": "b"}, {"$gt": {"v": {"a": "v"}}}, {"one": {"a": "one"}}]}}


BAD_DEFINITIONS = {
    "empty": {},
    "reserved rule name": {"__x": {"all": [{"a": {"t": "a"}}]}},
    "any": {"r": {"any": [{"a": {"t": "a"}}]}},
    "count": {"r": {"all": [{"a": {"t": "a"}}], "count": 2}},
    "run": {"r": {"all": [{"a": {"t": "a"}}], "run": "x"}},
    "negative pri": {"r": {"all": [{"a": {"t": "a"}}], "pri": -1}},
    "pri of the clock rule": {"r": {"all": [{"a": {"t": "a"}}], "pri": 65535}},
    "bool pri": {"r": {"all": [{"a": {"t": "a"}}], "pri": True}},
    "reserved alias": {"r": {"all": [{"__a": {"t": "a"}}]}},
    "duplicate alias": {"r": {"all": [{"a": {"t": "a"}}, {"a": {"$and": [{"t": "b"}, {"one": {"a": "one"}}]}}]}},
    "absence first": {"r": {"all": [{"n$not": {"t": "a"}}]}},
    "first pattern correlated": {"r": {"all": [{"a": {"v": {"b": "v"}}}]}},
    "unbound alias": {"r": {"all": [{"a": {"t": "a"}}, {"b": {"$and": [{"$gt": {"v": {"z": "v"}}}, {"one": {"a": "one"}}]}}]}},
    "missing sentinel": {"r": {"all": [{"a": {"t": "a"}}, {"b": {"$and": [{"t": "b"}, {"$gt": {"v": {"a": "v"}}}]}}]}},
    "uncorrelated later pattern": {"r": {"all": [{"a": {"t": "a"}}, {"b": {"t": "b"}}]}},
    "nested or": {"r": {"all": [{"a": {"t": "a"}}, {"b": {"$and": [
        {"$or": [{"t": "b"}, {"t": "c"}]}, {"$gt": {"v": {"a": "v"}}}, {"one": {"a": "one"}}]}}]}},
    "top-level or": {"r": {"all": [{"a": {"$or": [{"t": "a"}, {"t": "b"}]}}]}},
    "nested and": {"r": {"all": [{"a": {"$and": [{"$and": [{"t": "a"}]}, {"v": 1}]}}]}},
    "state": {"r": {"all": [{"a": {"$and": [{"t": "a"}, {"$s": 1}]}}]}},
    "tests id": {"r": {"all": [{"a": {"id": "e0"}}]}},
    "regex": {"r": {"all": [{"a": {"$mt": {"t": "a.*"}}}]}},
    "null literal": {"r": {"all": [{"a": {"t": None}}]}},
    "nan literal": {"r": {"all": [{"a": {"$gt": {"v": math.nan}}}]}},
    "mul reference": {"r": {"all": [{"a": {"t": "a"}}, {"b": {"$and": [
        {"$gt": {"v": {"$mul": {"$l": {"a": "v"}, "$r": 2}}}}, {"one": {"a": "one"}}]}}]}},
    "first pattern only missing()": {"r": {"all": [{"a": {"$nex": {"kind": 1}}}]}},
    "clock after absence": {"r": {"all": [
        {"i": {"t": "i"}}, {"n$not": {"$and": [{"t": "x"}, {"one": {"i": "one"}}]}},
        {"now": {"$and": [{"type": "clock"}, {"one": {"i": "one"}}]}}]}},
}


@needs_durable
class TestValidation:
    @pytest.mark.parametrize("case", sorted(BAD_DEFINITIONS))
    def test_rejected_before_durable_sees_it(self, case):
        rt = dr.Runtime()
        with pytest.raises(dr.DisciplineError):
            rt.ensure_ruleset(BAD_DEFINITIONS[case])
        assert not rt._registered

    def test_good_definition_passes_validation(self):
        dr._check_definition({"r": {"all": [{"a": {"t": "a"}}, _ok_later()], "pri": 3}})

    def test_too_many_tests_in_a_pattern(self):
        alpha = [dr.gt(f"v{k}", 1) for k in range(dr.MAX_SEQUENCE_EXPRESSIONS + 1)]
        with pytest.raises(dr.PatternTooLongError):
            dr._check_definition({"r": dr.rule(dr.pattern("a", *alpha))})
        dr._check_definition({"r": dr.rule(dr.pattern("a", *alpha[:-1]))})

    def test_durable_expression_sequence_limit(self):
        # durable: 2 entries for the $and + 1 per correlated test; it fails at 32
        a = dr.pattern("a", dr.eq("t", "a"))
        corr = [dr.gt(f"v{k}", dr.ref("a", "v")) for k in range(29)]  # + sentinel = 30 -> 32
        with pytest.raises(dr.PatternTooLongError, match="MAX_SEQUENCE_EXPRESSIONS"):
            dr._check_definition({"r": dr.rule(a, dr.pattern("b", *corr))})
        dr._check_definition({"r": dr.rule(a, dr.pattern("b", *corr[:-1]))})
