"""Renderers: turn audit reports into text for people, JSON for programs, Markdown for sharing.

Each module has ``render(items: list[AuditItem]) -> str``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: engine.report.escape is loaded by engine.cli at startup
    from ..api import AuditReport
    from ..timeline import Timeline

__all__ = ["AuditItem", "RENDERERS", "render"]


@dataclass(frozen=True)
class AuditItem:
    """One audited timeline: where it came from, the timeline, its report."""

    label: str
    timeline: Timeline
    report: AuditReport


def render(fmt: str, items: list[AuditItem]) -> str:
    from . import json as json_, markdown, text
    return {"text": text.render, "json": json_.render, "markdown": markdown.render}[fmt](items)


RENDERERS = ("text", "json", "markdown")
