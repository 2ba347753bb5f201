"""The policy store lists its directories again only when one of them changed.

A server looks the policy up on every request; listing the shipped directory, its
agencies and the policies directory each time cost about a tenth of the server's CPU per
check. The store now lists them when a directory's modification time differs from the
last listing's (adding, removing or renaming a file changes it), and files added or
removed are still seen on the next request.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.policy.store import PolicyStore

ROOT = Path(__file__).resolve().parents[2]
PAST = 1_700_000_000  # a directory modification time well in the past (2023)


def _settle(directory: Path) -> None:
    """Give the directory an old modification time, as a directory nobody has touched for a while has."""
    os.utime(directory, (PAST, PAST))


def _counting(store: PolicyStore) -> list[int]:
    calls = [0]
    original = store._list

    def counted():
        calls[0] += 1
        return original()

    store._list = counted
    return calls


def test_an_unchanged_directory_is_listed_once_and_a_new_or_removed_file_is_seen_at_once(tmp_path):
    shutil.copy(ROOT / "policies" / "etiquette.yaml", tmp_path / "mine.yaml")
    _settle(tmp_path)
    store = PolicyStore(tmp_path)
    calls = _counting(store)
    for _ in range(5):
        assert store.get("mine").name
    assert calls[0] == 1  # the shipped directories are old too (a checkout, an installed package)

    shutil.copy(ROOT / "policies" / "etiquette.yaml", tmp_path / "other.yaml")
    os.utime(tmp_path, (PAST + 10, PAST + 10))  # what adding the file did, set to a settled time
    assert store.get("other").name
    assert calls[0] == 2

    (tmp_path / "other.yaml").unlink()
    os.utime(tmp_path, (PAST + 20, PAST + 20))
    with pytest.raises(InputError) as caught:
        store.get("other")
    assert caught.value.problems[0].code == "policy.not-found"
    assert calls[0] == 3


def test_a_directory_changed_in_the_last_seconds_is_listed_on_every_lookup(tmp_path):
    """Its modification time may not change again within the file system's granularity."""
    shutil.copy(ROOT / "policies" / "etiquette.yaml", tmp_path / "mine.yaml")  # now: a fresh mtime
    store = PolicyStore(tmp_path)
    calls = _counting(store)
    store.get("mine")
    store.get("mine")
    assert calls[0] == 2
