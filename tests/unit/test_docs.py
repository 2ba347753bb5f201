"""The docs tell the truth: every kind, event type and field is documented, and every example runs.

Conventions the docs follow (and these tests rely on):

* A fenced block whose info string has ``title="..."`` is a *whole document*. If the
  title ends in ``.timeline.yaml`` or ``.timeline.json``, the block is a timeline that
  must validate. If it ends in ``.policy.yaml``, the block is a policy that must load.
  If the title is a path under ``docs/examples/``, the block must also equal that file
  byte for byte. ``title="selector"`` marks a selector that must validate.
* A ```` ```console ```` block is a shell transcript. ``$ followup ...`` runs the CLI
  in-process from the repository root. The lines after it are its stderr, then its
  stdout. ``...`` on a line of its own stands for any number of lines. ``$ echo $?``
  is followed by the exit code of the previous command.
* A ```` ```pycon ```` block is a doctest, run from the repository root.
* Files under ``docs/examples/``: ``*.timeline.*`` must load, ``*.policy.yaml`` must
  load, and ``invalid-*`` must fail with located problems.
"""

from __future__ import annotations

from transcripts import matches

import doctest
import re
import shlex
import typing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from engine import InputError, audit, load_policy, load_timeline
from engine.cli import main
from engine.findings import MESSAGE_FIELDS
from engine.policy import policy_from_text
from engine.rules import REGISTRY
from engine.rules._common import GROUPS, SelectorSpec
from engine.source import parse_document
from engine.timeline import (CHANNELS, EVENT_TYPES, Application, Contact, Event, Timeline,
                             timeline_from_data)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
DOC_NAMES = ("timeline-format.md", "policy-language.md", "architecture.md")

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
_TITLE = re.compile(r'title="([^"]+)"')


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str
    title: str | None
    body: str

    def __str__(self) -> str:
        return f"docs/{self.doc}:{self.line}"


def _text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _blocks(name: str) -> list[Block]:
    text = _text(name)
    out = []
    for m in _FENCE.finditer(text):
        info = m.group(1).strip()
        title = _TITLE.search(info)
        out.append(Block(name, text.count("\n", 0, m.start()) + 1, info.split(" ")[0] if info else "",
                         title.group(1) if title else None, m.group(2)))
    return out


ALL_BLOCKS = [b for name in DOC_NAMES for b in _blocks(name)]
TITLED = [b for b in ALL_BLOCKS if b.title]
#: other pages whose console transcripts are run too
TRANSCRIPT_DOCS = ("limits.md",)
CONSOLE = [b for b in ALL_BLOCKS + [b for name in TRANSCRIPT_DOCS for b in _blocks(name)] if b.lang == "console"]
PYCON = [b for b in ALL_BLOCKS if b.lang == "pycon"]


def _section(doc: str, heading: str) -> str:
    """The text of the section that starts with ``heading`` (up to the next heading of its level)."""
    text = _text(doc)
    start = text.index(heading + "\n")
    level = heading.split(" ")[0]
    rest = text[start + len(heading):]
    nxt = re.search(rf"^{level} ", rest, re.M)
    return rest[: nxt.start()] if nxt else rest


def _ticked(text: str, name: str) -> bool:
    return f"`{name}`" in text


# --- coverage: every kind, event type, field, channel, role, placeholder and etiquette rule ---


def test_the_three_docs_exist():
    for name in DOC_NAMES:
        assert (DOCS / name).is_file(), f"docs/{name} is missing"


@pytest.mark.parametrize("kind", list(REGISTRY))
def test_every_rule_kind_has_a_section_with_a_worked_example(kind):
    """Every kind in engine.rules.REGISTRY has a section, whose worked example runs the kind's files."""
    section = _section("policy-language.md", f"### `{kind}`")
    assert "| option |" in section, f"section `{kind}` has no options table"
    assert f'title="docs/examples/{kind}.policy.yaml"' in section
    assert f'title="docs/examples/{kind}.timeline.yaml"' in section
    assert f"--policy docs/examples/{kind}.policy.yaml" in section, f"section `{kind}` shows no run"


def test_every_event_type_channel_and_role_is_in_the_timeline_format():
    text = _text("timeline-format.md")
    missing = [t for t in EVENT_TYPES if not _ticked(text, t)]
    missing += [c for c in CHANNELS if not _ticked(text, c)]
    roles = typing.get_args(Contact.model_fields["role"].annotation)
    missing += [r for r in roles if not _ticked(text, r)]
    assert not missing, f"not in docs/timeline-format.md: {missing}"


def _field_names(model) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _event_models() -> list:
    union = typing.get_args(Event)[0]
    return list(typing.get_args(union))


@pytest.mark.parametrize("model", [Timeline, Contact, Application, *_event_models()], ids=lambda m: m.__name__)
def test_every_timeline_field_is_documented(model):
    text = _text("timeline-format.md")
    missing = [f for f in _field_names(model) if not _ticked(text, f)]
    assert not missing, f"{model.__name__} fields not in docs/timeline-format.md: {missing}"


def test_every_message_placeholder_and_selector_group_is_documented():
    text = _text("policy-language.md")
    missing = [f"{{{f}}}" for f in MESSAGE_FIELDS if f"`{{{f}}}`" not in text]
    missing += [g for g in GROUPS if not _ticked(text, g)]
    assert not missing, f"not in docs/policy-language.md: {missing}"


def _etiquette_rows() -> dict[str, str]:
    section = _section("policy-language.md", "## The default policy: `etiquette`")
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z0-9-]+)` \|.*$", section, re.M)}


def test_the_etiquette_table_matches_the_shipped_policy():
    """Each etiquette rule has a row naming its kind, severity and category; each parameter its default."""
    policy = load_policy("etiquette")
    rows = _etiquette_rows()
    assert set(r.id for r in policy.rules) <= set(rows), "rules missing from the etiquette table"
    for rule in policy.rules:
        row = rows[rule.id]
        assert f"`{rule.kind}`" in row and f"{rule.severity}, {rule.category}" in row, row
    for name, value in policy.parameters.items():
        assert re.search(rf"^\| `{name}` \| `{re.escape(str(value))}` \|", _text("policy-language.md"), re.M), \
            f"parameter `{name}` (default {value}) is not in the parameter table"


def _module_map_paths() -> set[str]:
    """The files the module map's tree names, as ``engine/...`` paths."""
    paths, folder = set(), ""
    for line in _section("architecture.md", "## Module map").splitlines():
        sub = re.match(r"^  (\w+)/\s*$", line)
        if sub:
            folder = sub.group(1) + "/"
            continue
        if re.match(r"^  \S", line):
            folder = ""
        paths.update(f"engine/{folder}{name}" for name in re.findall(r"(?<![\w/.])(\w+\.py)\b", line))
    return paths


def test_architecture_names_only_modules_that_exist():
    """Every engine/ file docs/architecture.md names exists, unless the docs say it is planned."""
    text = _text("architecture.md")
    named = set(re.findall(r"engine/[\w/]+\.py", text)) | _module_map_paths()
    assert len(named) > 20, sorted(named)
    missing = []
    for path in sorted(named):
        if (ROOT / path).is_file():
            continue
        lines = [ln for ln in text.splitlines() if re.search(rf"(?<![\w.]){re.escape(path.split('/')[-1])}", ln)]
        if not any("planned" in ln or "being added" in ln for ln in lines):
            missing.append(path)
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_architecture_exit_codes_match_the_cli():
    from engine import cli
    section = _section("architecture.md", "## Exit codes")
    for code in (cli.EXIT_OK, cli.EXIT_VIOLATION, cli.EXIT_INPUT, cli.EXIT_INTERNAL):
        assert re.search(rf"^\| {code} \|", section, re.M), f"exit code {code} is not documented"


def test_durable_backend_is_described_as_it_is():
    """docs/architecture.md calls the durable backend planned exactly while engine/backends/durable.py
    is missing, and names docs/performance.md only once that exists."""
    text = _text("architecture.md")
    said = " ".join(ln for ln in text.splitlines() if re.search(r"(?<![\w.])durable\.py", ln))
    planned = "planned" in said or "being added" in said
    assert planned != (ROOT / "engine/backends/durable.py").exists(), said
    if not (DOCS / "performance.md").exists():
        assert "performance.md" not in text


# --- whole documents in the docs ---


def _kind_of(title: str) -> str | None:
    if title.endswith((".timeline.yaml", ".timeline.json")):
        return "timeline"
    if title.endswith(".policy.yaml"):
        return "policy"
    if title == "selector":
        return "selector"
    return None


def test_the_docs_mark_their_whole_documents():
    kinds = [_kind_of(b.title) for b in TITLED]
    assert kinds.count("timeline") >= 10 and kinds.count("policy") >= 10, kinds
    assert all(k is not None for k in kinds), [b.title for b in TITLED if _kind_of(b.title) is None]


@pytest.mark.parametrize("block", TITLED, ids=str)
def test_whole_documents_in_the_docs_validate(block):
    kind = _kind_of(block.title)
    if kind == "timeline":
        doc = parse_document(block.body, block.title)
        timeline_from_data(doc.data, doc)
    elif kind == "policy":
        policy_from_text(block.body, block.title)
    elif kind == "selector":
        import yaml
        for value in yaml.safe_load(block.body).values():
            SelectorSpec.model_validate(value)
    if block.title.startswith("docs/examples/"):
        path = ROOT / block.title
        assert path.is_file(), f"{block}: {block.title} does not exist"
        assert block.body == path.read_text(encoding="utf-8"), f"{block} differs from {block.title}"


# --- the example files ---


def _example_files(pattern: str) -> list[Path]:
    return sorted(EXAMPLES.glob(pattern))


@pytest.mark.parametrize("path", _example_files("*.timeline.*"), ids=lambda p: p.name)
def test_example_timelines_load(path):
    load_timeline(path)


@pytest.mark.parametrize("path", _example_files("*.policy.yaml"), ids=lambda p: p.name)
def test_example_policies_load(path):
    load_policy(path)


@pytest.mark.parametrize("path", _example_files("invalid-*"), ids=lambda p: p.name)
def test_invalid_examples_fail_with_located_problems(path):
    with pytest.raises(InputError) as info:
        if "policy" in path.name:
            load_policy(path)
        else:
            load_timeline(path)
    assert info.value.problems and all(p.loc and p.loc.line for p in info.value.problems)


def test_every_example_file_is_shown_or_run_in_the_docs():
    text = "".join(_text(n) for n in DOC_NAMES)
    unused = [p.name for p in EXAMPLES.iterdir() if f"docs/examples/{p.name}" not in text]
    assert not unused, f"docs/examples files no doc uses: {unused}"


# --- console transcripts ---


@dataclass
class Command:
    argv: list[str]
    expected: list[str]


def _commands(block: Block) -> list[Command]:
    out: list[Command] = []
    for line in block.body.splitlines():
        if line.startswith("$ "):
            out.append(Command(shlex.split(line[2:]), []))
        else:
            assert out, f"{block}: output before the first command"
            out[-1].expected.append(line.rstrip())
    return out




def _run_cli(argv: list[str], capsys) -> tuple[int, list[str]]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, [ln.rstrip() for ln in err.splitlines() + out.splitlines()]


@pytest.mark.parametrize("block", CONSOLE, ids=str)
def test_console_transcripts_are_real(block, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    last: int | None = None
    for cmd in _commands(block):
        if cmd.argv == ["echo", "$?"]:
            assert last is not None, f"{block}: `echo $?` before any command"
            assert cmd.expected == [str(last)], f"{block}: exit code was {last}, docs say {cmd.expected}"
            continue
        assert cmd.argv[0] == "followup", f"{block}: only `followup` and `echo $?` are run: {cmd.argv}"
        last, actual = _run_cli(cmd.argv[1:], capsys)
        assert matches(cmd.expected, actual), (
            f"{block}: `{shlex.join(cmd.argv)}` printed:\n" + "\n".join(actual)
            + "\n--- but the docs show:\n" + "\n".join(cmd.expected))


_FINDING_LINE = re.compile(r"^    (?:VIOLATION|warning|info)\s+([a-z0-9-]+)  \(")
_JSON_RULE = re.compile(r'^\s*"rule": "([a-z0-9-]+)"')


def _audits_of_examples() -> list[tuple[Block, Command]]:
    out = []
    for block in CONSOLE:
        for cmd in _commands(block):
            examples = [a for a in cmd.argv if a.startswith("docs/examples/")]
            if (cmd.argv[:2] == ["followup", "audit"] and any(".timeline." in a for a in examples)
                    and not any("invalid-" in a for a in examples)):
                out.append((block, cmd))
    return out


def _engines() -> list[str]:
    from engine.backends import durable_status
    return ["reference"] + (["durable"] if durable_status()[0] else [])


@pytest.mark.parametrize("engine", _engines())
@pytest.mark.parametrize("block,cmd", _audits_of_examples(), ids=lambda x: str(x) if isinstance(x, Block) else "")
def test_shown_findings_are_all_the_findings(block, cmd, engine):
    """The rule ids a worked example shows are exactly the ids it produces, on every available engine."""
    args = cmd.argv[2:]
    timeline = ROOT / args[0]
    policy = ROOT / args[args.index("--policy") + 1] if "--policy" in args else "etiquette"
    as_of = datetime.fromisoformat(args[args.index("--as-of") + 1])
    report = audit(load_timeline(timeline), load_policy(policy), as_of, engine=engine)
    shown = [m.group(1) for line in cmd.expected for m in [_FINDING_LINE.match(line) or _JSON_RULE.match(line)] if m]
    assert sorted(shown) == sorted(f.rule for f in report.findings), f"{block}: {shown} vs {report.findings}"


# --- Python examples ---


@pytest.mark.parametrize("doc", sorted({b.doc for b in PYCON}))
def test_python_examples_run(doc, monkeypatch):
    """The pycon blocks of one page run in order, in one namespace, like a reader's session."""
    monkeypatch.chdir(ROOT)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    namespace: dict = {}
    failures: list[str] = []
    for block in (b for b in PYCON if b.doc == doc):
        test = parser.get_doctest(block.body, namespace, str(block), str(DOCS / doc), block.line)
        assert test.examples, f"{block}: a pycon block without examples"
        runner.run(test, out=failures.append, clear_globs=False)
        namespace = test.globs  # get_doctest copies the namespace; carry the updated one on
    assert runner.failures == 0, "".join(failures)
