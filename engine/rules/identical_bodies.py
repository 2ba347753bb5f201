"""``identical-bodies``: each person gets a message of their own.

Flags a message whose body is the same (ignoring case and spacing) as an earlier
one to another person of the same application and interview round. One message
sent to several people counts as identical messages to each.

Options:
  subject   selector of the messages compared

Example:

```yaml
- id: thank-you-customized
  kind: identical-bodies
  severity: warning
  category: quality
  subject: {type: thank_you}
  message: "thank-you {event} to {contact} repeats {first} word for word; write each interviewer their own"
```
"""

from __future__ import annotations

from typing import Literal

from ..ir import Duplicate
from ._common import RuleBase, SelectorSpec, meta_of

KIND = "identical-bodies"


class Params(RuleBase):
    kind: Literal["identical-bodies"]
    subject: SelectorSpec


def lower(rule: Params, loc=None) -> list:
    return [Duplicate(meta_of(rule, loc), rule.subject.lower())]
