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

from .api import AuditReport, audit, load_policy, load_timeline, parse_instant
from .decide import Agenda, AgendaItem, Alternative, CheckResult, PlannedAction, agenda, check
from .errors import EngineError, FollowupError, InputError, Loc, Problem
from .findings import Finding
from .policy import Policy
from .timeline import Timeline

__all__ = sorted([
    "Agenda", "AgendaItem", "Alternative", "AuditReport", "CheckResult", "EngineError", "Finding", "FollowupError",
    "InputError", "Loc", "PlannedAction", "Policy", "Problem", "Timeline", "agenda", "audit", "check",
    "load_policy", "load_timeline", "parse_instant",
], key=str.casefold)
