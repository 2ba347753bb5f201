"""A real browser renders a caseload report: headless Chromium (Debian's package; .ci/run installs it).

The page for several shipped examples is loaded from a file; from the DOM Chromium builds
(``--dump-dom``) the test checks that every finding's message is there, and that the marks
of the events each finding cites exist, ringed, linking back to it. A screenshot is saved
in the test's temporary directory. Without Chromium the test is skipped, except in CI
(``CI`` set), where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from engine.report import render

from ._html import by_id, caseload, classes, parse, text_of

#: seconds one Chromium run may take before the test fails (a bound, not a measurement)
TIMEOUT = 180


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return path


def _run(chromium: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--window-size=1280,2000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)


@pytest.fixture(scope="module")
def items():
    return caseload()


def test_chromium_renders_every_finding_and_its_marked_events(items, tmp_path):
    chromium = _chromium()
    page = tmp_path / "caseload.html"
    page.write_text(render("html", items), encoding="utf-8")
    dumped = _run(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    root = parse(dumped.stdout)  # the DOM as the browser built it, serialised
    ids = by_id(root)
    findings = [f for item in items for f in item.report.findings]
    assert findings
    shown = [li for li in root.iter("li") if (li.get("id") or "").startswith("f-")]
    assert len(shown) == len(findings)
    text = " ".join(text_of(root).split())
    for finding, li in zip(findings, shown):
        assert " ".join(finding.message.split()) in text
        targets = [a.get("href")[1:] for a in li.iter("a") if a.get("href", "").startswith("#e-")]
        assert len(targets) == len(finding.events)
        for target, event_id in zip(targets, finding.events):
            mark = ids[target]
            assert "mark" in classes(mark) and mark.find("title").text.startswith(f"{event_id}: ")
            assert any("ring" in classes(c) for c in mark)
    charts = [s for s in root.iter("svg") if "chart" in classes(s)]
    assert len(charts) == sum(len(item.timeline.applications) for item in items)


def test_chromium_takes_a_screenshot_of_the_caseload(items, tmp_path):
    chromium = _chromium()
    page = tmp_path / "caseload.html"
    page.write_text(render("html", items), encoding="utf-8")
    shot = tmp_path / "caseload.png"
    done = _run(chromium, tmp_path, f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)


def test_the_cli_caseload_page_renders_with_its_summary_and_a_bad_file_reported(tmp_path, capsys):
    """``followup audit DIR --summary --format html -o FILE`` on the shipped examples plus one
    malformed file: exit 2, the bad file named on stderr with its line and column, and a page
    that Chromium renders with a summary row linking to each valid candidate's section, every
    finding of the same run (as ``--format jsonl`` gives them) shown, one chart per application."""
    import json

    from engine import api
    from engine.cli import main

    from ._html import ROOT
    chromium = _chromium()
    cases = tmp_path / "cases"
    shutil.copytree(ROOT / "examples", cases, ignore=shutil.ignore_patterns("*.py", "*.csv", "*.ics"))
    (cases / "broken.yaml").write_text("candidate: Sam\nevents: [\n", encoding="utf-8")
    as_of = ["--as-of", "2026-09-20T00:00:00Z", "--engine", "reference"]
    page = tmp_path / "caseload.html"
    assert main(["audit", str(cases), "--summary", "--format", "html", "-o", str(page), *as_of]) == 2
    err = capsys.readouterr().err
    assert f"{cases / 'broken.yaml'}:3:1: error[" in err, err
    assert main(["audit", str(cases), "--format", "jsonl", *as_of]) == 2
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    good = [r for r in rows if "findings" in r]
    assert len(good) == len(rows) - 1 and len(good) >= 6
    dumped = _run(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    root = parse(dumped.stdout)
    ids = by_id(root)
    text = " ".join(text_of(root).split())
    for row in good:
        for finding in row["findings"]:
            assert " ".join(finding["message"].split()) in text
    links = [a.get("href")[1:] for table in root.iter("table") for a in table.iter("a")
             if a.get("href", "").startswith("#t")]
    assert len(links) == len(good) and all(link in ids for link in links)
    charts = [s for s in root.iter("svg") if "chart" in classes(s)]
    assert len(charts) == sum(len(api.load_timeline(r["source"]).applications) for r in good)
