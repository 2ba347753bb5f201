"""``forbidden-after``: no event of a kind after another event, with counted exceptions.

After an anchor event (a rejection, a do-not-contact request) the subject events
are forbidden, except up to ``max`` events matching ``except`` (one feedback
request). With ``scope: named-contact`` an anchor that names a contact forbids only
messages to that contact; an anchor naming nobody still covers the whole company.

Options:
  subject   selector of the forbidden events
  after     selector of the anchor events
  except    optional ``{type: ..., max: N}``: the first N such events after the anchor are allowed
  scope     ``company`` (default) or ``named-contact``

Example:

```yaml
- id: no-contact-after-rejection
  kind: forbidden-after
  severity: violation
  category: harassing
  subject: {type: outreach}
  after: {type: rejection}
  except: {type: feedback_request, max: 1}
  message: "{type} {event} to {company} after their rejection ({first})"
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..ir import Count, Follows, Selector
from ._common import RuleBase, SelectorSpec, StrictInt, known_types, meta_of

KIND = "forbidden-after"


class Exception_(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # only validated inside Params
    type: list[str] | str
    max: StrictInt = Field(1, ge=0, le=20)

    @field_validator("type")
    @classmethod
    def _known(cls, value: list[str] | str) -> list[str] | str:
        known_types([value] if isinstance(value, str) else value)
        return value

    def types(self) -> frozenset[str]:
        return SelectorSpec(type=self.type).types()


class Params(RuleBase):
    kind: Literal["forbidden-after"]
    subject: SelectorSpec
    after: SelectorSpec
    except_: Exception_ | None = Field(None, alias="except")
    scope: Literal["company", "named-contact"] = "company"

    model_config = {"populate_by_name": True}


def lower(rule: Params, loc=None) -> list:
    meta = meta_of(rule, loc)
    subject = rule.subject.lower()
    anchor = rule.after.lower()
    scoped = rule.scope == "named-contact"
    if rule.except_ is None:
        return [Follows(meta, subject, anchor, scoped)]
    allowed = rule.except_.types() & subject.types
    rest = Selector(subject.types - allowed, subject.channels, subject.roles)
    nodes = []
    if rest.types:
        nodes.append(Follows(meta, rest, anchor, scoped))
    if allowed:
        nodes.append(Count(meta, Selector(allowed, subject.channels, subject.roles), rule.except_.max,
                           after=anchor))
    return nodes
