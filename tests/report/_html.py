"""Shared by the HTML report tests: the shipped examples as a caseload, and parsing pages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import api
from engine.report import AuditItem

ROOT = Path(__file__).resolve().parents[2]

#: each shipped example with the as-of instant its header comment gives
EXAMPLE_AS_OF = {
    "forgetful": "2026-06-05T00:00:00Z",
    "model-candidate": "2026-04-10T00:00:00Z",
    "over-eager": "2026-04-14T00:00:00Z",
    "panel-rounds": "2026-10-01T00:00:00Z",
    "rejection": "2026-03-10T00:00:00Z",
    "two-applications": "2026-07-06T00:00:00Z",
}


def example_item(name: str, as_of: str | None = None, with_policy: bool = True) -> AuditItem:
    policy = api.load_policy("etiquette")
    timeline = api.load_timeline(ROOT / "examples" / f"{name}.yaml")
    report = api.audit(timeline, policy, api.parse_instant(as_of or EXAMPLE_AS_OF[name]), engine="reference")
    return AuditItem(f"examples/{name}.yaml", timeline, report, policy if with_policy else None)


def caseload() -> list[AuditItem]:
    return [example_item(name) for name in EXAMPLE_AS_OF]


def html5lib_or_skip():
    """html5lib (the [test] extra has it); outside CI a missing one skips, in CI it fails."""
    try:
        import html5lib
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("html5lib is not installed (pip install -e '.[test]')")
    return html5lib


def parse(page: str):
    """``page`` parsed by html5lib in strict mode: any parse error (a non-conforming page) fails.
    Returns the root element; tags are local names (the SVG namespace stripped)."""
    html5lib = html5lib_or_skip()
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), strict=True, namespaceHTMLElements=False)
    root = parser.parse(page)
    assert not parser.errors
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def text_of(el) -> str:
    return "".join(el.itertext())


def by_id(root) -> dict:
    out = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") is not None:
            assert el.get("id") not in out, f"duplicate id {el.get('id')}"
            out[el.get("id")] = el
    return out


def classes(el) -> set[str]:
    return set((el.get("class") or "").split())
