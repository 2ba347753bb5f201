"""Renderers: turn audit reports into text for people, JSON for programs, Markdown for sharing,
and a self-contained HTML page with a timeline picture for coaches.

Each module has ``render(items: list[AuditItem]) -> str``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: engine.report.escape is loaded by engine.cli at startup
    from ..api import AuditReport
    from ..policy import Policy
    from ..timeline import Timeline

__all__ = ["AuditItem", "RENDERERS", "render"]


@dataclass(frozen=True)
class AuditItem:
    """One audited timeline: where it came from, the timeline, its report.

    ``policy``, the policy it was audited with, is optional: the HTML report shades every
    window of the policy's rules with it, and only those its findings name without it.
    """

    label: str
    timeline: Timeline
    report: AuditReport
    policy: Policy | None = None


def render(fmt: str, items: list[AuditItem]) -> str:
    from . import html, json as json_, markdown, text
    return {"text": text.render, "json": json_.render, "markdown": markdown.render,
            "html": html.render}[fmt](items)


RENDERERS = ("text", "json", "markdown", "html")
