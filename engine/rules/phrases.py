"""``phrases``: message bodies avoid listed phrases.

Matching ignores case and runs of spaces. Useful for tone: accusatory or
impatient wording in a status inquiry.

Options:
  subject   selector of the messages checked
  phrases   the phrases to flag (each with some text: an empty phrase would flag every message)

Example:

```yaml
- id: inquiry-tone
  kind: phrases
  severity: warning
  category: tone
  subject: {type: status_inquiry}
  phrases: ["haven't heard back", "still waiting", "per my last email"]
  message: "status inquiry {event} sounds impatient; refer to the time frame they gave instead"
```
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ..ir import Flag, Phrases
from ._common import RuleBase, SelectorSpec, meta_of

KIND = "phrases"


def _has_text(phrase: str) -> str:
    if not phrase.strip():
        raise ValueError("an empty phrase is in every message, body or not; give each phrase some words")
    return phrase


Phrase = Annotated[str, AfterValidator(_has_text)]


class Params(RuleBase):
    kind: Literal["phrases"]
    subject: SelectorSpec
    phrases: list[Phrase] = Field(min_length=1)


def lower(rule: Params, loc=None) -> list:
    return [Flag(meta_of(rule, loc), rule.subject.lower(), Phrases(tuple(rule.phrases)))]
