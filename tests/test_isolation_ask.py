"""engine.isolation: a worker function asks its caller questions during a call; workers at a
lower CPU priority (what the server's large-request workers use)."""

from __future__ import annotations

import os
import sys

import pytest

from engine.isolation import IsolatedRunner, WorkerUnavailable, ask, AskFailed

try:  # tests/ may or may not become a package
    from . import ask_targets as targets
except ImportError:
    import ask_targets as targets

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")


@pytest.fixture
def runner():
    runners = []

    def make(fn: str, **kwargs):
        r = IsolatedRunner(f"{targets.__name__}:{fn}", None, timeout=30.0, **kwargs)
        runners.append(r)
        return r

    yield make
    for r in runners:
        r.close()


def test_questions_are_answered_in_order_by_the_callers_function_and_the_worker_is_kept(runner):
    r = runner("ask_twice")
    asked = []

    def answer(question):
        asked.append(question)
        return ("answer", len(asked), question[1])

    assert r.call(7, answer=answer)[:2] == (("answer", 1, 7), ("answer", 2, ("answer", 1, 7)))
    assert asked == [("first", 7), ("second", ("answer", 1, 7))]
    pid = r.pid
    assert r.call(8, answer=lambda q: q)[:2] == (("first", 8), ("second", ("first", 8)))
    assert r.pid == pid, "asking is not an incident: the same worker answers the next call"
    assert r.stats.incidents == [] and r.stats.fallbacks == 0


def test_a_call_without_an_answer_function_makes_ask_fail_in_the_worker(runner):
    r = runner("ask_and_report")
    kind, message = r.call("anything")
    assert kind == "failed" and "takes no questions" in message


def test_an_answer_function_that_raises_is_the_calls_exception_and_the_worker_is_kept(runner):
    r = runner("ask_then_raise")

    def answer(question):
        raise LookupError(f"no answer to {question!r}")

    with pytest.raises(LookupError, match="no answer to 'q'"):
        r.call("q", answer=answer)
    pid = r.pid
    assert r.call("again", answer=lambda q: q.upper()) == "AGAIN"
    assert r.pid == pid


def test_ask_outside_a_worker_call_fails():
    with pytest.raises(AskFailed):
        ask("nobody is there")


def test_a_nice_worker_runs_at_a_lower_cpu_priority_than_its_parent(runner):
    ours = os.nice(0)
    plain, lowered = runner("ask_twice"), runner("ask_twice", nice=5)
    assert plain.call(1, answer=lambda q: q)[2] == ours
    assert lowered.call(1, answer=lambda q: q)[2] == min(19, ours + 5)


def test_a_worker_that_dies_while_its_caller_answers_is_a_failed_call(runner):
    r = runner("ask_then_raise")

    def answer(question):
        os.kill(r.pid, 9)
        return "too late"

    with pytest.raises(WorkerUnavailable):
        r.call("q", answer=answer)
    assert r.call("next", answer=lambda q: q) == "next"
