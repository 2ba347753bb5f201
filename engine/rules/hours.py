"""``hours``: messages arrive inside the recipient's local hours.

The recipient's zone is their contact ``timezone``, else the application's, else
the timeline's. With ``business_days`` (default) weekends, public holidays and
closures of the employer's calendar are outside hours too.

Options:
  subject         selector of the messages checked (e.g. calls)
  start, end      local times ``HH:MM``; a message at ``start`` is inside, at ``end`` outside
  business_days   true (default): only on the employer's business days

Example:

```yaml
- id: call-hours
  kind: hours
  severity: warning
  category: harassing
  subject: {type: outreach, channel: [phone, voicemail, text]}
  start: "08:00"
  end: "21:00"
  business_days: false
  message: "{type} {event} reached {contact} by {channel} outside {start}-{end} their time"
```
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator, model_validator

from ..ir import Flag, OutsideHours
from ._common import RuleBase, SelectorSpec, StrictBool, meta_of

KIND = "hours"
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class Params(RuleBase):
    kind: Literal["hours"]
    subject: SelectorSpec
    start: str
    end: str
    business_days: StrictBool = True

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"`{value}` is not a local time; write `HH:MM`, e.g. `09:00`")
        return value

    @model_validator(mode="after")
    def _order(self) -> "Params":
        if _minutes(self.start) >= _minutes(self.end):
            raise ValueError(f"`start` ({self.start}) must be before `end` ({self.end})")
        return self


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def lower(rule: Params, loc=None) -> list:
    return [Flag(meta_of(rule, loc), rule.subject.lower(),
                 OutsideHours(_minutes(rule.start), _minutes(rule.end), rule.business_days), per_party=True)]
