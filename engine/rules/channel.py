"""``channel``: candidate messages go on the recipient's preferred channel.

A recipient's preference is the latest ``preference`` event for them before the
message, else the ``preferred_channel`` in the contact list. A recipient with no
stated preference can be reached on any channel.

Options:
  subject   selector of the messages checked (default: all candidate outreach)

Example:

```yaml
- id: preferred-channel
  kind: channel
  severity: violation
  category: off-channel
  subject: {type: outreach}
  message: "{type} {event} reached {contact} by {channel}; they asked for {preferred}"
```
"""

from __future__ import annotations

from typing import Literal

from ..ir import ChannelMismatch
from ._common import RuleBase, SelectorSpec, meta_of

KIND = "channel"


class Params(RuleBase):
    kind: Literal["channel"]
    subject: SelectorSpec = SelectorSpec(type=["outreach"])


def lower(rule: Params, loc=None) -> list:
    return [ChannelMismatch(meta_of(rule, loc), rule.subject.lower())]
