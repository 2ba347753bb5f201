"""``limit``: at most ``max`` events of a kind per silence period, rolling window, or after an event.

Counts the subject events of one application (and one recipient, with
``per_recipient``). The event that goes over the limit is flagged, citing the events
counted with it.

Options:
  subject        selector of the events counted
  max            how many are allowed (0 forbids them)
  window         a rolling window of elapsed time (``7d``): at most ``max`` in any window
  reset_on       a selector: a silence period ends at any such event (e.g. employer contact)
  after          a selector: count only events after such an event (e.g. a rejection)
  per_recipient  count per recipient instead of per application (default false)

Example:

```yaml
- id: single-inquiry
  kind: limit
  severity: violation
  category: harassing
  subject: {type: status_inquiry}
  max: 1
  reset_on: {type: [interview, employer_contact, timetable, offer]}
  message: "{count} status inquiries to {company} with no word from them in between ({events})"
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..ir import Count
from ._common import ElapsedField, RuleBase, SelectorSpec, StrictBool, StrictInt, meta_of

KIND = "limit"


class Params(RuleBase):
    kind: Literal["limit"]
    subject: SelectorSpec
    max: StrictInt = Field(ge=0, le=20)
    window: ElapsedField | None = None
    reset_on: SelectorSpec | None = None
    after: SelectorSpec | None = None
    per_recipient: StrictBool = False


def lower(rule: Params, loc=None) -> list:
    return [Count(meta_of(rule, loc), rule.subject.lower(), rule.max,
                  rule.window.seconds if rule.window else None,
                  rule.reset_on.lower() if rule.reset_on else None,
                  rule.after.lower() if rule.after else None, rule.per_recipient)]
