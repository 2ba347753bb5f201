"""Hostile agency files: ``extends`` stays inside its root, sections are type-checked, and the
policy store behind ``GET /v1/policies`` keeps its last good versions whatever a reload does.

The root of a policy is the ``--policies`` directory when the policy is in it, else the
directory of the file named; symlinks are followed before the check. Nothing outside
the root (or the shipped policies) is ever read, and a file that is not a policy is
reported without quoting it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.policy import extends as extends_module
from engine.policy.extends import resolve_document
from engine.policy.loader import load_policy, shipped_dir
from engine.policy.store import PolicyStore

with warnings.catch_warnings():  # some starlette versions warn that their TestClient's httpx use is deprecated
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from engine.server import create_app

#: in every file outside the root: a valid policy, so that only the root check can keep it out
SECRET = """\
policy: secret
description: s3cr3t-value-outside-the-root
rules: []
"""
MARKER = "s3cr3t"

#: a file inside the root that is not a policy: its key names and values must never be shown
NOT_A_POLICY = """\
api_token_s3cr3t: hunter2-s3cr3t
database: {password: s3cr3t}
"""

BASE = """\
extends: etiquette
parameters:
  thank_you_within: 48h
"""

TIMELINE = {
    "timezone": "America/New_York",
    "contacts": {"alice": {"name": "Alice Park", "role": "hiring_manager"}},
    "applications": {"acme": {"company": "Acme", "country": "US", "timezone": "America/New_York"}},
    "events": [
        {"id": "i1", "type": "interview", "at": "2026-03-02T10:00", "ends_at": "2026-03-02T11:00", "with": ["alice"]},
        {"id": "t1", "type": "timetable", "at": "2026-03-02T10:55", "by": "alice", "decision_by": "2026-04-30"},
        {"id": "y1", "type": "thank_you", "at": "2026-03-03T17:00", "to": "alice", "channel": "email"},  # after 30h
    ],
}


def write(path: Path, text: str) -> Path:
    """Write ``path`` (and its directory), making sure its modification time moves on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns <= before:  # a coarse clock: two saves in one tick
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))
    return path


def touch_dir(directory: Path) -> None:
    """Move a directory's modification time on, as the next clock tick would after a file appears in it."""
    ns = directory.stat().st_mtime_ns + 1_000_000
    os.utime(directory, ns=(ns, ns))


def codes(exc: pytest.ExceptionInfo) -> list[str]:
    return [p.code for p in exc.value.problems]


@pytest.fixture
def tree(tmp_path) -> Path:
    """``tmp/policies`` (the root) beside ``tmp/outside`` (a valid policy, and secrets)."""
    write(tmp_path / "outside" / "secret.yaml", SECRET)
    write(tmp_path / "outside" / "secret2.yaml", SECRET)
    (tmp_path / "policies").mkdir()
    return tmp_path / "policies"


# --------------------------------------------------------------------------- 1. the root


@pytest.mark.parametrize("target", ["../outside/secret.yaml", "../../policies/../outside/secret.yaml",
                                    "sub/../../outside/secret.yaml", "./../outside/secret.yaml",
                                    "agencies/../../outside/secret"])
def test_a_relative_extends_cannot_leave_the_policies_directory(tree, target):
    write(tree / "sub" / "keep.yaml", "policy: keep\nrules: []\n")
    agency = write(tree / "agency.yaml", f"extends: {target}\n")
    with pytest.raises(InputError) as exc:
        load_policy(agency, tree)
    assert codes(exc) == ["extends.outside-root"]
    assert str(exc.value.problems[0].loc).endswith("agency.yaml:1:10")
    assert MARKER not in str(exc.value)


def test_an_absolute_extends_is_refused_without_reading_it(tree, monkeypatch):
    read = []
    monkeypatch.setattr(extends_module, "load_document",
                        lambda p, _load=extends_module.load_document: read.append(Path(p)) or _load(p))
    secret = tree.parent / "outside" / "secret.yaml"
    agency = write(tree / "agency.yaml", f"extends: {secret}\n")
    with pytest.raises(InputError) as exc:
        load_policy(agency, tree)
    assert codes(exc) == ["extends.absolute-path"]
    assert read == [agency]


def test_symlinks_are_followed_before_the_root_check(tree):
    outside = tree.parent / "outside"
    (tree / "link.yaml").symlink_to(outside / "secret.yaml")
    (tree / "shared").symlink_to(outside, target_is_directory=True)
    for target in ("link.yaml", "link", "shared/secret.yaml", "shared/secret2.yaml"):
        agency = write(tree / "agency.yaml", f"extends: {target}\n")
        with pytest.raises(InputError) as exc:
            load_policy(agency, tree)
        assert codes(exc) == ["extends.outside-root"], target


def test_a_symlink_that_stays_inside_the_root_is_followed(tree):
    write(tree / "real" / "base.yaml", BASE)
    (tree / "base.yaml").symlink_to(tree / "real" / "base.yaml")
    agency = write(tree / "agency.yaml", "extends: base\n")
    assert load_policy(agency, tree).parameters["thank_you_within"] == "48h"


def test_names_and_paths_inside_the_root_keep_working(tree):
    write(tree / "base.yaml", BASE)
    write(tree / "shared" / "house.yaml", "extends: ../base.yaml\nparameters: {inquiries_per_silence: 2}\n")
    cases = {
        "extends: etiquette\n": "etiquette.yaml",
        "extends: agencies/strict\n": "strict.yaml",
        "extends: base\n": "base.yaml",  # a sibling by name
        "extends: base.yaml\n": "base.yaml",
        "extends: shared/house.yaml\n": "house.yaml",  # which itself goes up, staying in the root
    }
    for text, first_own in cases.items():
        policy = load_policy(write(tree / "agency.yaml", text), tree)
        assert policy.name == "agency"
        assert first_own in [f.name for f in policy.files], text
    house = load_policy(tree / "agency.yaml", tree)
    assert house.parameters["thank_you_within"] == "48h" and house.parameters["inquiries_per_silence"] == 2


def test_without_a_policies_directory_the_root_is_the_directory_of_the_file(tree):
    write(tree / "base.yaml", BASE)
    agency = write(tree / "agency.yaml", "extends: base.yaml\n")
    assert load_policy(agency).parameters["thank_you_within"] == "48h"
    escape = write(tree / "escape.yaml", "extends: ../outside/secret.yaml\n")
    with pytest.raises(InputError) as exc:
        load_policy(escape)
    assert codes(exc) == ["extends.outside-root"]


@pytest.mark.parametrize("text", [NOT_A_POLICY, "- 1\n- api_token_s3cr3t\n", "just a s3cr3t line\n",
                                  "description: s3cr3t\n", "policy: x\nrules: []\napi_token_s3cr3t: 1\n"])
def test_a_base_that_is_not_a_policy_is_reported_without_its_contents(tree, text):
    write(tree / "data" / "notes.yaml", text)
    agency = write(tree / "agency.yaml", "extends: data/notes.yaml\n")
    with pytest.raises(InputError) as exc:
        load_policy(agency, tree)
    assert codes(exc) == ["extends.not-a-policy"]
    assert str(exc.value.problems[0].loc).endswith("agency.yaml:1:10")
    assert MARKER not in str(exc.value) and "hunter2" not in str(exc.value) and "database" not in str(exc.value)


def test_get_policies_never_shows_a_file_from_outside_the_root(tree):
    """The reported attack: an agency file reaching for a file outside; the unauthenticated
    listing gives neither its contents nor an absolute path of the machine."""
    write(tree / "a.yaml", "extends: ../outside/secret.yaml\n")
    write(tree / "b.yaml", f"extends: {tree.parent / 'outside' / 'secret.yaml'}\n")
    write(tree / "c.yaml", "extends: data/notes.yaml\n")
    write(tree / "data" / "notes.yaml", NOT_A_POLICY)
    with TestClient(create_app(tree, engine="reference")) as client:
        response = client.get("/v1/policies")
    assert response.status_code == 200
    listed = {p["name"]: p for p in response.json()["policies"]}
    assert {n: (listed[n]["serving"], [e.split(": ")[1] for e in listed[n]["errors"]]) for n in "abc"} == {
        "a": (False, ["error[extends.outside-root]"]),
        "b": (False, ["error[extends.absolute-path]"]),
        "c": (False, ["error[extends.not-a-policy]"])}
    # b's own text names the absolute path it tried; nothing else does
    text = json.dumps({n: p for n, p in listed.items() if n != "b"})
    assert MARKER not in response.text and "hunter2" not in response.text
    assert str(tree) not in text and str(shipped_dir()) not in text


# --------------------------------------------------------------------------- 2. section types


@pytest.mark.parametrize("text, code, where", [
    ("extends: etiquette\nparameters: [1]\n", "extends.invalid-section", "2:13"),
    ("extends: etiquette\ncalendar: [1]\n", "extends.invalid-section", "2:11"),
    ("extends: etiquette\ncalendar: 2026-12-24\n", "extends.invalid-section", "2:11"),
    ("extends: etiquette\nrules: 3\n", "extends.invalid-section", "2:8"),
    ("extends: etiquette\nrules: {id: call-hours}\n", "extends.invalid-section", "2:8"),
    ("extends: etiquette\nrules: [1]\n", "extends.bad-rule", "2:9"),
    ("extends: etiquette\nrules: [{id: [call-hours]}]\n", "extends.bad-rule", "2:9"),
    ("extends: [etiquette]\n", "extends.invalid-section", "1:10"),
    ("extends: {name: etiquette}\n", "extends.invalid-section", "1:10"),
    ("extends: 3\n", "extends.invalid-section", "1:10"),
    ("extends: null\n", "extends.invalid-section", "1:10"),
    ("extends: ''\n", "extends.invalid", "1:10"),
    ("extends: etiquette\npolicy: 3\n", "extends.invalid-section", "2:9"),
    ("extends: etiquette\npolicy: [a]\n", "extends.invalid-section", "2:9"),
    ("extends: etiquette\ndescription: [a]\n", "extends.invalid-section", "2:14"),
    ("extends: etiquette\nversion: true\n", "extends.invalid-section", "2:10"),
    ("extends: etiquette\nversion: {a: 1}\n", "extends.invalid-section", "2:10"),
])
def test_every_section_of_an_agency_file_has_its_type_checked(tree, text, code, where):
    agency = write(tree / "agency.yaml", text)
    with pytest.raises(InputError) as exc:
        load_policy(agency, tree)
    assert [(p.code, f"{p.loc.line}:{p.loc.col}") for p in exc.value.problems] == [(code, where)]
    assert "\n" not in exc.value.problems[0].message


def test_empty_sections_of_an_agency_file_are_allowed(tree):
    policy = load_policy(write(tree / "agency.yaml", "extends: etiquette\nparameters:\ncalendar:\nrules:\n"), tree)
    assert len(policy.rules) == len(load_policy("etiquette").rules)


@pytest.mark.parametrize("base, code, where", [
    ("policy: base\nrules: []\nparameters: [1]\n", "extends.invalid-section", "base.yaml:3:13"),
    ("policy: base\nrules: 3\n", "extends.invalid-section", "base.yaml:2:8"),
    ("policy: base\nrules: []\ncalendar: yes\n", "extends.invalid-section", "base.yaml:3:11"),
    ("- 1\n- 2\n", "extends.not-a-policy", "agency.yaml:1:10"),
    ("3\n", "extends.not-a-policy", "agency.yaml:1:10"),
])
def test_a_base_of_the_wrong_shape_is_a_located_error_not_a_crash(tree, base, code, where):
    write(tree / "base.yaml", base)
    agency = write(tree / "agency.yaml", "extends: base\nparameters: {x: {value: 1}}\nrules: [{id: r}]\n")
    with pytest.raises(InputError) as exc:
        load_policy(agency, tree)
    assert [(p.code, str(p.loc).rsplit("/", 1)[-1]) for p in exc.value.problems] == [(code, where)]


def test_a_plain_base_with_rule_ids_of_any_type_is_validated_not_crashed(tree):
    write(tree / "base.yaml", "policy: base\nrules: [{id: [1, 2], kind: deadline}]\n")
    agency = write(tree / "agency.yaml", "extends: base\nrules: [{id: r}]\n")
    with pytest.raises(InputError) as exc:
        load_policy(agency, tree)
    assert set(codes(exc)) <= {"extends.unknown-rule", "policy.invalid"} and "extends.unknown-rule" in codes(exc)


# --------------------------------------------------------------------------- 3. the store


def _audit(client: TestClient, policy: str) -> tuple[int, list]:
    response = client.post("/v1/audit", json={"timeline": TIMELINE, "policy": policy,
                                              "as_of": "2026-03-31T00:00:00Z"})
    body = response.json()
    return response.status_code, [(f["rule"], f["events"]) for f in body.get("findings", [])]


def test_an_unexpected_exception_in_a_reload_keeps_the_last_good_version(tree, monkeypatch, caplog):
    """A bug in a rule kind while one policy reloads: that policy keeps serving its last good
    version, reports an `internal` error line without the exception's details (which are logged
    with their traceback), and no other policy, nor the listing's status code, changes."""
    write(tree / "good.yaml", BASE)
    buggy = write(tree / "buggy.yaml", BASE)
    with TestClient(create_app(tree, engine="reference")) as client:
        assert client.get("/v1/policies").status_code == 200
        before = {name: _audit(client, name) for name in ("good", "buggy", "etiquette")}
        assert before["good"] == (200, []) and before["etiquette"][1] == [("thank-you-within-24h", ["i1"])]

        from engine.rules import deadline

        def boom(*args, **kwargs):
            raise RuntimeError("internal detail /srv/secret/path")
        monkeypatch.setattr(deadline, "lower", boom)
        write(buggy, BASE.replace("48h", "72h"))
        with caplog.at_level(logging.ERROR, logger="followup.policy"):
            response = client.get("/v1/policies")
        assert response.status_code == 200
        listed = {p["name"]: p for p in response.json()["policies"]}
        assert listed["buggy"]["serving"] is True
        assert listed["buggy"]["errors"] == ["buggy.yaml: error[internal]: an internal error stopped this version "
                                             "from loading (the server logged it)"]
        assert "internal detail" not in response.text and "RuntimeError" not in response.text
        assert listed["good"]["errors"] == [] and listed["etiquette"]["errors"] == []
        [record] = [r for r in caplog.records if r.name == "followup.policy"]
        assert record.exc_info and "internal detail" in str(record.exc_info[1])
        assert {name: _audit(client, name) for name in before} == before


def test_a_broken_file_changes_no_other_policy_and_the_listing_stays_200(tree):
    write(tree / "good.yaml", BASE)
    broken = write(tree / "broken.yaml", BASE)
    with TestClient(create_app(tree, engine="reference")) as client:
        before = {name: _audit(client, name) for name in ("good", "broken", "etiquette")}
        for text in ("extends: etiquette\nparameters: [1]\n", "extends: [x]\n", ": : :\n", "- 1\n",
                     "extends: ../outside/secret.yaml\n", "extends: broken\n"):
            write(broken, text)
            response = client.get("/v1/policies")
            assert response.status_code == 200, text
            listed = {p["name"]: p for p in response.json()["policies"]}
            assert listed["broken"]["serving"] is True and len(listed["broken"]["errors"]) >= 1, text
            assert listed["good"]["errors"] == [] and listed["good"]["serving"], text
            assert {name: _audit(client, name) for name in before} == before, text


def test_the_listing_shows_files_relative_to_the_policies_directory(tree):
    write(tree / "shared" / "base.yaml", BASE + "  no_such_parameter: 3\n")
    write(tree / "acme.yaml", "extends: shared/base.yaml\n")
    store = PolicyStore(tree)
    listed = {p["name"]: p for p in store.status()}
    assert listed["etiquette"]["file"] == "shipped:etiquette.yaml"
    assert listed["agencies/strict"]["file"] == "shipped:agencies/strict.yaml"
    assert listed["acme"]["file"] == "acme.yaml"
    assert [e.split(": error")[0] for e in listed["acme"]["errors"]] == ["shared/base.yaml:4:3"]
    assert str(tree) not in json.dumps(listed) and str(shipped_dir()) not in json.dumps(listed)


def test_a_relative_policies_directory_is_shown_the_same_way(tree, monkeypatch):
    write(tree / "acme.yaml", "extends: etiquette\nrules: [{id: call-hour}]\n")
    monkeypatch.chdir(tree.parent)
    listed = {p["name"]: p for p in PolicyStore("policies").status()}
    assert listed["acme"]["file"] == "acme.yaml"
    assert listed["acme"]["errors"][0].startswith("acme.yaml:2:14: error[extends.unknown-rule]: ")


def test_a_reload_that_was_missing_a_file_recovers_when_the_file_appears(tree):
    """The errors of a failed reload are those of the files as they are now: a base that did
    not exist yet is picked up when it is created, without touching the file that extends it."""
    agency = write(tree / "agency.yaml", "extends: etiquette\n")
    store = PolicyStore(tree)
    assert store.get("agency").parameters["thank_you_within"] == "24h"
    write(agency, "extends: base\n")
    assert [p for p in store.status() if p["name"] == "agency"][0]["errors"][0].split(": ")[1] == \
        "error[extends.not-found]"
    assert store.get("agency").parameters["thank_you_within"] == "24h"  # the last good version
    write(tree / "base.yaml", BASE)
    touch_dir(tree)
    assert store.get("agency").parameters["thank_you_within"] == "48h"
    assert [p for p in store.status() if p["name"] == "agency"][0]["errors"] == []


def test_a_base_deleted_from_under_a_served_policy_is_reported_and_the_policy_kept(tree):
    write(tree / "shared" / "base.yaml", BASE)
    write(tree / "agency.yaml", "extends: shared/base.yaml\n")
    store = PolicyStore(tree)
    assert store.get("agency").parameters["thank_you_within"] == "48h"
    (tree / "shared" / "base.yaml").unlink()
    [entry] = [p for p in store.status() if p["name"] == "agency"]
    assert entry["serving"] and [e.split(": ")[:2] for e in entry["errors"]] == \
        [["agency.yaml:1:10", "error[extends.not-found]"]]
    assert store.get("agency").parameters["thank_you_within"] == "48h"
    write(tree / "agency.yaml", "extends: etiquette\n")  # no longer needs it
    assert store.get("agency").parameters["thank_you_within"] == "24h"


def test_a_fifo_in_the_policies_directory_is_reported_not_read(tree):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(tree / "pipe.yaml")
    write(tree / "base.yaml", BASE)
    os.mkfifo(tree / "pipe2.yaml")
    write(tree / "agency.yaml", "extends: pipe2.yaml\n")
    listed = {p["name"]: p for p in PolicyStore(tree).status()}  # would block forever if a FIFO were opened
    assert [e.split(": ")[1] for e in listed["pipe"]["errors"]] == ["error[input.not-a-file]"]
    assert [e.split(": ")[1] for e in listed["agency"]["errors"]] == ["error[extends.not-found]"]
    assert listed["base"]["serving"]


# --------------------------------------------------------------------------- 4. property

_ROOT_ERRORS = {"extends.outside-root", "extends.absolute-path", "extends.not-a-policy", "extends.not-found",
                "extends.invalid", "extends.cycle", "extends.too-deep", "input.not-a-file", "input.unreadable"}

_SEGMENTS = st.sampled_from(["..", ".", "", "sub", "agencies", "out", "in", "loop", "outside", "policies",
                             "base.yaml", "secret.yaml", "lout.yaml", "lin.yaml", "base", "secret", "strict",
                             "etiquette", "deep"])


@pytest.fixture(scope="module")
def maze():
    """A root with subdirectories and symlinks leading in, out, and round in a loop."""
    top = Path(tempfile.mkdtemp(prefix="extends-maze-"))
    try:
        root, outside = top / "policies", top / "outside"
        for directory in (root / "sub" / "deep", root / "agencies", outside / "sub"):
            directory.mkdir(parents=True)
        for directory in (outside, outside / "sub", top):
            write(directory / "secret.yaml", SECRET)
            write(directory / "base.yaml", SECRET)
        for directory in (root, root / "sub", root / "sub" / "deep", root / "agencies"):
            write(directory / "base.yaml", BASE)
        (root / "out").symlink_to(outside, target_is_directory=True)
        (root / "sub" / "out").symlink_to(outside / "sub", target_is_directory=True)
        (root / "in").symlink_to(root / "sub", target_is_directory=True)
        (root / "lout.yaml").symlink_to(outside / "secret.yaml")
        (root / "lin.yaml").symlink_to(root / "sub" / "base.yaml")
        (root / "loop").symlink_to(root / "loop")
        yield root
    finally:
        shutil.rmtree(top)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(_SEGMENTS, min_size=1, max_size=7), absolute=st.booleans(),
       where=st.sampled_from(["agency.yaml", "sub/agency.yaml", "sub/deep/agency.yaml"]))
def test_extends_either_reads_only_files_inside_the_root_or_fails_with_a_located_code(maze, monkeypatch, segments,
                                                                                      absolute, where):
    """For any `extends` value made of `..`, `.`, names, `/` and symlinks: every file read
    resolves inside the root (or the shipped policies), and the result is either a policy or an
    InputError whose codes are among those of the root rules, located in the file that extends;
    a file outside the root is never read and its contents never shown."""
    target = ("/" if absolute else "") + "/".join(segments)
    agency = maze / where
    agency.write_text(f"extends: {json.dumps(target)}\n", encoding="utf-8")
    read: list[Path] = []
    real_load = extends_module.load_document
    monkeypatch.setattr(extends_module, "load_document", lambda p: read.append(Path(p).resolve()) or real_load(p))
    shipped = shipped_dir().resolve()
    try:
        try:
            doc, files = resolve_document(agency, [maze])
        except InputError as exc:
            assert {p.code for p in exc.problems} <= _ROOT_ERRORS, (target, exc.lines())
            assert MARKER not in str(exc)
            assert all(p.loc is not None for p in exc.problems)
        else:
            assert all(f.is_relative_to(maze) or f.is_relative_to(shipped) for f in files), (target, files)
            assert MARKER not in json.dumps(doc.data)
        assert read and all(f.is_relative_to(maze) or f.is_relative_to(shipped) for f in read), (target, read)
    finally:
        monkeypatch.undo()
        agency.unlink()
