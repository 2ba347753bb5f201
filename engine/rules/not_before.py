"""``not-before``: an event is premature until a waiting time after an anchor has passed.

The anchors are tried in order: the first anchor type that occurred before the
event decides, and the latest event of that type is the anchor. So "wait for the
stated timetable plus one business day; with no timetable, five business days after
the last interview" is two anchors.

Options:
  subject   selector of the events that must not come early
  anchors   list of ``{event: selector, from: at|end|decision, wait: duration}``;
            ``decision`` is a timetable's decision time (``decision_by`` or ``within``)

Example:

```yaml
- id: inquiry-after-timetable
  kind: not-before
  severity: violation
  category: premature
  subject: {type: status_inquiry}
  anchors:
    - {event: {type: timetable}, from: decision, wait: 1bd}
    - {event: {type: interview}, from: end, wait: 5bd}
  message: "status inquiry {event} came before the timetable passed; it was fine from {due}"
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..ir import Premature, TimeRef
from ._common import DurationField, RuleBase, SelectorSpec, meta_of

KIND = "not-before"


class Anchor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              defer_build=True)  # only validated inside Params
    event: SelectorSpec
    from_: Literal["at", "end", "decision"] = Field("at", alias="from")
    wait: DurationField


class Params(RuleBase):
    kind: Literal["not-before"]
    subject: SelectorSpec
    anchors: list[Anchor] = Field(min_length=1)


def lower(rule: Params, loc=None) -> list:
    meta = meta_of(rule, loc)
    nodes, earlier = [], []
    for anchor in rule.anchors:
        ref = TimeRef(base=anchor.from_, seconds=anchor.wait.seconds, business_days=anchor.wait.business_days)
        selector = anchor.event.lower()
        nodes.append(Premature(meta, rule.subject.lower(), selector, ref, tuple(earlier)))
        earlier.append(selector)
    return nodes
