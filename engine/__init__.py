"""followup: a rules engine for job-search follow-up etiquette.

Declarative YAML policies, checked against a candidate's event timeline::

    from engine import load_timeline, load_policy, audit
    report = audit(load_timeline("examples/model-candidate.yaml"), load_policy("etiquette"), as_of)

The public names are listed in ``__all__``; everything else is internal.
"""

from .api import AuditReport, audit, load_policy, load_timeline, parse_instant
from .errors import EngineError, FollowupError, InputError, Loc, Problem
from .findings import Finding
from .policy import Policy
from .timeline import Timeline

__all__ = sorted([
    "AuditReport", "EngineError", "Finding", "FollowupError", "InputError", "Loc", "Policy", "Problem",
    "Timeline", "audit", "load_policy", "load_timeline", "parse_instant",
], key=str.casefold)
