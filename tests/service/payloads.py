"""Request bodies for the HTTP tests: the example timelines as JSON-ready data.

A tracker sends timelines as JSON. The examples are YAML, whose loaders turn
``2026-04-06T14:00:00`` into a (naive) datetime and ``2026-04-17`` into a date;
:func:`example_timeline` keeps every scalar as the text written in the file instead,
so a zone-less local time stays zone-less and the server reads it in the timeline's
``timezone`` exactly as ``followup`` reads the file.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _TextTimestampLoader(yaml.SafeLoader):
    """A safe loader that leaves dates and timestamps as text."""


_TextTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_data(text: str):
    return yaml.load(text, Loader=_TextTimestampLoader)  # noqa: S506 - a SafeLoader subclass


def example_timeline(name: str) -> dict:
    """examples/``name``.yaml as the JSON object a tracker would send."""
    return yaml_data((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))


_UUID4 = __import__("re").compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_REVISION = __import__("re").compile(r"^sha256:[0-9a-f]{64}$")


def answer_of(body: dict) -> dict:
    """An audit/check/agenda answer without the two fields the server adds to what the Python
    API answers: its ``decision_id`` (a UUID4) and ``policy_revision`` (``sha256:...``),
    both checked to be there."""
    assert _UUID4.match(body.get("decision_id", "")), body.get("decision_id")
    assert _REVISION.match(body.get("policy_revision", "")), body.get("policy_revision")
    return {k: v for k, v in body.items() if k not in ("decision_id", "policy_revision")}
