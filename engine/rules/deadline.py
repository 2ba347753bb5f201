"""``deadline``: after a trigger event, an expected event must follow within a time.

Flags each trigger that the expected event did not follow in time, once the deadline
has passed as of the evaluation instant. With ``per_recipient`` every person the
trigger names (the interviewers of an interview) is owed their own expected event,
addressed to them. ``cancelled_by`` events inside the window lift the obligation
(a rejection an hour after the interview, say).

Options:
  trigger        selector of the events that start the clock
  expect         selector of the events that satisfy it
  within         a duration (``24h``, ``2d``, ``5bd``), or ``end-of-day``: the end of the
                 trigger's local day in the employer's zone
  from           ``end`` (default: an interview's ``ends_at`` when given, else ``at``) or ``at``
  per_recipient  true: one obligation per person named by the trigger (default false)
  cancelled_by   optional selector of events that lift the obligation

Example:

```yaml
- id: thank-you-within-24h
  kind: deadline
  severity: violation
  category: overdue
  trigger: {type: interview}
  expect: {type: thank_you}
  within: 24h
  per_recipient: true
  cancelled_by: {type: [rejection, withdrawal, do_not_contact]}
  message: "no thank-you to {contact} within {within} of interview {event} (due {due})"
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..duration import parse_duration
from ..ir import Absence, TimeRef
from ._common import RuleBase, SelectorSpec, StrictBool, meta_of

KIND = "deadline"


class Params(RuleBase):
    kind: Literal["deadline"]
    trigger: SelectorSpec
    expect: SelectorSpec
    within: str
    from_: Literal["end", "at"] = Field("end", alias="from")
    per_recipient: StrictBool = False
    cancelled_by: SelectorSpec | None = None

    model_config = {"populate_by_name": True}

    @field_validator("within")
    @classmethod
    def _within(cls, value: str) -> str:
        if value != "end-of-day":
            parse_duration(value)
        return value



def lower(rule: Params, loc=None) -> list:
    if rule.within == "end-of-day":
        ref = TimeRef(base=rule.from_, end_of_day=True)
        words = "the end of that day"
    else:
        d = parse_duration(rule.within)
        ref = TimeRef(base=rule.from_, seconds=d.seconds, business_days=d.business_days)
        words = d.describe()
    meta = meta_of(rule, loc)
    meta = type(meta)(meta.rule, meta.severity, meta.category, meta.message,
                      tuple((k, words if k == "within" else v) for k, v in meta.values), loc)
    return [Absence(meta, rule.trigger.lower(), rule.expect.lower(), ref, rule.per_recipient,
                    rule.cancelled_by.lower() if rule.cancelled_by else None)]
