"""docs/agency-guide.md tells the truth: its files load and every transcript is real.

The guide follows the conventions of the other docs (see tests/unit/test_docs.py):
a ```` ```console ```` block is a shell transcript, ``$ followup ...`` runs the CLI
in-process, the lines after a command are its stderr then its stdout, ``...`` on a
line of its own stands for any number of lines, and ``$ echo $?`` is followed by the
previous command's exit code. In addition, ``> FILE`` after a command writes its
stdout to FILE, and a block with a ``title`` (a relative path) is a file the reader writes:
the blocks are replayed in order in an empty directory (a later block with the same
title is the file's next version). Paths of the shipped policies print relative to
the repository root, as in a checkout.

Run ``python tests/policy/test_agency_guide.py`` to rewrite the transcripts with
what the commands print now (then read the diff).
"""

from __future__ import annotations

from transcripts import matches

import contextlib
import io
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "agency-guide.md"

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
_TITLE = re.compile(r'title="([^"]+)"')


@dataclass
class Command:
    line: str
    argv: list[str]
    expected: list[str] = field(default_factory=list)
    actual: list[str] = field(default_factory=list)
    code: int | None = None


@dataclass
class Block:
    start: int  # offset of the body in the guide
    end: int
    lang: str
    title: str | None
    body: str
    commands: list[Command] = field(default_factory=list)

    @property
    def line(self) -> int:
        return GUIDE.read_text(encoding="utf-8").count("\n", 0, self.start) + 1


def blocks(text: str) -> list[Block]:
    out = []
    for m in _FENCE.finditer(text):
        info = m.group(1).strip()
        title = _TITLE.search(info)
        out.append(Block(m.start(2), m.end(2), info.split(" ")[0] if info else "", title.group(1) if title else None,
                         m.group(2)))
    return out


def _commands(block: Block) -> list[Command]:
    out: list[Command] = []
    for line in block.body.splitlines():
        if line.startswith("$ "):
            out.append(Command(line, shlex.split(line[2:])))
        else:
            assert out, f"docs/agency-guide.md:{block.line}: output before the first command"
            out[-1].expected.append(line.rstrip())
    return out




def _normalise(text: str) -> str:
    return text.replace(str(ROOT) + os.sep, "")


def replay(workdir: Path) -> list[Block]:
    """Write the guide's files and run its transcripts in ``workdir``; fill in what each command printed."""
    from engine.cli import main

    done = []
    here = os.getcwd()
    os.chdir(workdir)
    try:
        last = None
        for block in blocks(GUIDE.read_text(encoding="utf-8")):
            if block.title and not block.title.startswith(("docs/", "policies/", "/")):
                path = workdir / block.title
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(block.body, encoding="utf-8")
            if block.lang != "console":
                continue
            block.commands = _commands(block)
            for cmd in block.commands:
                if cmd.argv == ["echo", "$?"]:
                    cmd.actual, cmd.code = [str(last)], last
                    continue
                assert cmd.argv[0] == "followup", f"docs/agency-guide.md:{block.line}: only followup runs: {cmd.line}"
                argv, target = cmd.argv[1:], None
                if ">" in argv:
                    argv, target = argv[: argv.index(">")], argv[argv.index(">") + 1]
                out, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    last = cmd.code = main(argv)
                if target:
                    Path(target).write_text(out.getvalue(), encoding="utf-8")
                    out = io.StringIO()
                cmd.actual = [ln.rstrip() for ln in _normalise(err.getvalue() + out.getvalue()).splitlines()]
            done.append(block)
    finally:
        os.chdir(here)
    return done


def test_every_transcript_in_the_agency_guide_is_real(tmp_path):
    for block in replay(tmp_path):
        for cmd in block.commands:
            assert matches(cmd.expected, cmd.actual), (
                f"docs/agency-guide.md:{block.line}: `{cmd.line}` printed:\n" + "\n".join(cmd.actual)
                + "\n--- but the guide shows:\n" + "\n".join(cmd.expected))


def test_the_guide_covers_the_whole_workflow():
    text = GUIDE.read_text(encoding="utf-8")
    for needle in ("extends: etiquette", "enabled: false", "closures:", "followup policy show --effective",
                   "followup policy diff etiquette", "followup policy lint", "warning[lint.",
                   "followup policy test", "# yaml-language-server: $schema=", "followup serve --policies"):
        assert needle in text, needle


def _fill() -> None:
    """Rewrite the guide's transcripts with what the commands print now (keeping `...` elisions)."""
    import tempfile
    text = GUIDE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        done = replay(Path(tmp))
    for block in reversed(done):
        lines = []
        for cmd in block.commands:
            lines.append(cmd.line)
            if "..." in cmd.expected and matches(cmd.expected, cmd.actual):
                lines.extend(cmd.expected)
            else:
                lines.extend(cmd.actual)
        text = text[: block.start] + "\n".join(lines) + "\n" + text[block.end:]
    GUIDE.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _fill()
