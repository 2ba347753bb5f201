"""followup: a rules engine for job-search follow-up etiquette.

Declarative YAML policies, checked against a candidate's event timeline::

    from engine import load_timeline, load_policy, audit, check, agenda, PlannedAction
    timeline, policy = load_timeline("examples/over-eager.yaml"), load_policy("etiquette")
    report = audit(timeline, policy, as_of)                       # findings
    decision = check(timeline, PlannedAction(type="status_inquiry", to="nadia", channel="email"),
                     policy, at)                                  # allow/deny, earliest, alternatives
    todo = agenda(timeline, policy, as_of)                        # what is due next

The public names are listed in ``__all__``; everything else is internal.
"""

import importlib as _importlib

#: the package's version; ``followup --version`` prefers the installed distribution's metadata
__version__ = "0.1.0"

#: each public name and the module that defines it, imported on first use (PEP 562), so that
#: ``import engine.cli`` does not build every pydantic model before a command needs them
_HOME = {
    "AuditReport": "api", "audit": "api", "load_policy": "api", "load_timeline": "api", "parse_instant": "api",
    "Agenda": "decide", "AgendaItem": "decide", "Alternative": "decide", "CheckResult": "decide",
    "PlannedAction": "decide", "agenda": "decide", "check": "decide",
    "EngineError": "errors", "FollowupError": "errors", "InputError": "errors", "Loc": "errors", "Problem": "errors",
    "Finding": "findings", "Policy": "policy", "Timeline": "timeline",
}

__all__ = sorted([
    "Agenda", "AgendaItem", "Alternative", "AuditReport", "CheckResult", "EngineError", "Finding", "FollowupError",
    "InputError", "Loc", "PlannedAction", "Policy", "Problem", "Timeline", "agenda", "audit", "check",
    "load_policy", "load_timeline", "parse_instant",
], key=str.casefold)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
