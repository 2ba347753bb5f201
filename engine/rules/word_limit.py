"""``word-limit``: message bodies stay short.

Options:
  subject     selector of the messages checked
  max_words   the most words a body may have

Example:

```yaml
- id: thank-you-brief
  kind: word-limit
  severity: warning
  category: quality
  subject: {type: thank_you}
  max_words: 200
  message: "thank-you {event} to {contact} runs over {max_words} words; keep it brief"
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..ir import Flag, WordsOver
from ._common import RuleBase, SelectorSpec, StrictInt, meta_of

KIND = "word-limit"


class Params(RuleBase):
    kind: Literal["word-limit"]
    subject: SelectorSpec
    max_words: StrictInt = Field(ge=1)


def lower(rule: Params, loc=None) -> list:
    return [Flag(meta_of(rule, loc), rule.subject.lower(), WordsOver(rule.max_words))]
