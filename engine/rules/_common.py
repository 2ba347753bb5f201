"""Pieces every rule kind shares: the common rule fields, selectors, durations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StrictBool, StrictInt,
                      WithJsonSchema, field_validator)

from ..duration import Duration, parse_duration
from ..errors import did_you_mean
from ..ir import Meta, Selector
from ..timeline import CANDIDATE_TYPES, CHANNELS, EMPLOYER_TYPES, EVENT_TYPES

__all__ = ["RuleBase", "SelectorSpec", "DurationField", "ElapsedField", "GROUPS", "meta_of", "human_values",
           "StrictBool", "StrictInt", "known_types"]

#: names that stand for several event types in a selector
GROUPS = {
    "outreach": CANDIDATE_TYPES,
    "employer": EMPLOYER_TYPES,
    "any": EVENT_TYPES,
}
ROLES = ("interviewer", "hiring_manager", "recruiter", "coordinator", "agency_recruiter", "other")


def _duration(value: Any) -> Duration:
    return parse_duration(value)


_PARAM = r"|\$[A-Za-z_][A-Za-z0-9_]*"
DurationField = Annotated[Duration, BeforeValidator(_duration), PlainSerializer(str, return_type=str),
                          WithJsonSchema({"type": "string", "pattern": r"^(\d+(s|m|h|d|w|bd)" + _PARAM + ")$",
                                          "description": "a duration such as 24h, 7d, 2w or 5bd"})]


def _elapsed(value: Any) -> Duration:
    d = parse_duration(value)
    if d.is_business:
        raise ValueError(f"`{value}` counts business days; this field needs elapsed time such as `7d`")
    return d


ElapsedField = Annotated[Duration, BeforeValidator(_elapsed), PlainSerializer(str, return_type=str),
                         WithJsonSchema({"type": "string", "pattern": r"^(\d+(s|m|h|d|w)" + _PARAM + ")$",
                                         "description": "elapsed time such as 24h, 7d or 2w"})]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def known_types(values: list[str]) -> list[str]:
    """``values`` if each is an event type or a group, else a ``ValueError`` with a suggestion."""
    for v in values:
        if v not in EVENT_TYPES and v not in GROUPS:
            hint = did_you_mean(v, [*EVENT_TYPES, *GROUPS]) or (
                f"; expected an event type ({', '.join(EVENT_TYPES)}) or a group ({', '.join(GROUPS)})")
            raise ValueError(f"unknown event type `{v}`{hint}")
    return values


class _Strict(BaseModel):
    # defer_build: validators are built on first use (a selector only ever inside a rule's
    # parameters, a kind's parameters only when a policy has a rule of that kind)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class SelectorSpec(_Strict):
    """Which events a rule looks at.

    ``type`` takes event types or the groups ``outreach`` (candidate messages),
    ``employer`` (employer-side events) and ``any``; ``except`` removes types.
    ``channel`` and ``role`` (of the recipient or contact) narrow it further.
    """

    # each field also takes a single value; the validator below makes it a one-item list
    type: list[str] | str = Field(description="Event types or groups (outreach, employer, any).")
    except_: list[str] | str = Field(default_factory=list, alias="except", description="Types to leave out.")
    channel: list[Literal[CHANNELS]] | Literal[CHANNELS] | None = None  # type: ignore[valid-type]
    role: list[Literal[ROLES]] | Literal[ROLES] | None = None  # type: ignore[valid-type]

    _lists = field_validator("type", "except_", "channel", "role", mode="before")(
        classmethod(lambda cls, v: _listify(v)))

    @field_validator("type", "except_")
    @classmethod
    def _known(cls, values: list[str]) -> list[str]:
        return known_types(values)

    def types(self) -> frozenset[str]:
        out: set[str] = set()
        for v in self.type:
            out.update(GROUPS.get(v, (v,)))
        for v in self.except_:
            out.difference_update(GROUPS.get(v, (v,)))
        return frozenset(out)

    def lower(self) -> Selector:
        return Selector(self.types(),
                        frozenset(self.channel) if self.channel is not None else None,
                        frozenset(self.role) if self.role is not None else None)


class RuleBase(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Stable id; agencies override rules by it.")
    kind: str
    description: str | None = None
    severity: Literal["violation", "warning", "info"] = "violation"
    category: Literal["overdue", "harassing", "off-channel", "premature", "missed", "quality", "tone"]
    message: str = Field(description="Finding text; may use {placeholders}, see the policy-language docs.")
    enabled: StrictBool = True


def human_values(rule: BaseModel, exclude: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """The rule's own parameters rendered for messages: durations in words, lists joined."""
    out = []
    for name, info in type(rule).model_fields.items():
        if name in RuleBase.model_fields or name in exclude:
            continue
        value = getattr(rule, name)
        name = info.alias or name
        if value is None:
            continue
        if isinstance(value, Duration):
            text = value.describe()
        elif isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, BaseModel):
            continue
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = str(value)
        out.append((name, text))
    return tuple(out)


def meta_of(rule: RuleBase, loc=None, extra: tuple[tuple[str, str], ...] = ()) -> Meta:
    return Meta(rule.id, rule.severity, rule.category, rule.message, human_values(rule) + extra, loc)

