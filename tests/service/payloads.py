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
