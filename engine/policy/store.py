"""A directory of policies served by name, reloaded when their files change.

Used by the HTTP server. Each lookup compares the file's (mtime, size) with what was
loaded; a changed file is loaded again. An edit that does not load (half-written,
or invalid) never replaces the last good version: it keeps serving, and the errors
are reported by :meth:`PolicyStore.status` until the file is fixed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Problem
from .loader import Policy, is_policy_file, load_policy, shipped_policies

__all__ = ["PolicyStore"]


@dataclass
class _Entry:
    path: Path
    #: (mtime, size) of every file the policy was made from (its ``extends`` chain)
    stamp: tuple | None = None
    files: tuple[Path, ...] = ()
    policy: Policy | None = None
    errors: list[str] = field(default_factory=list)


def _stamp(paths) -> tuple:
    out = []
    for path in paths:
        stat = path.stat()
        out.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


class PolicyStore:
    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.directory = Path(directory) if directory else None
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _paths(self) -> dict[str, Path]:
        paths = dict(shipped_policies())
        if self.directory is not None:
            for path in sorted(self.directory.glob("*.yaml")) + sorted(self.directory.glob("*.yml")):
                if is_policy_file(path):
                    paths[path.stem] = path
        return paths

    def _refresh(self, name: str, path: Path) -> _Entry:
        entry = self._entries.get(name)
        if entry is None or entry.path != path:
            entry = self._entries[name] = _Entry(path)
        try:
            stamp = _stamp(entry.files or (path,))
        except OSError as exc:
            entry.errors = [f"{path}: error[input.unreadable]: {exc.strerror}"]
            return entry
        if stamp != entry.stamp:
            try:
                policy = load_policy(path, self.directory)
                entry.policy, entry.errors, entry.files = policy, [], policy.files
                stamp = _stamp(policy.files)
            except InputError as exc:
                entry.errors = exc.lines()  # the last good version stays in service
            except OSError as exc:
                entry.errors = [f"{path}: error[input.unreadable]: {exc.strerror}"]
            entry.stamp = stamp
        return entry

    def get(self, name: str) -> Policy:
        """The policy called ``name``: its latest good version; raise :class:`InputError` if none."""
        paths = self._paths()
        if name not in paths:
            raise InputError(Problem("policy.not-found", f"no policy named `{name}`; known: {', '.join(paths)}"))
        with self._lock:
            entry = self._refresh(name, paths[name])
        if entry.policy is None:
            raise InputError(Problem("policy.invalid", f"policy `{name}` does not load: {'; '.join(entry.errors)}"))
        return entry.policy

    def status(self) -> list[dict]:
        """Every known policy: name, file, whether it is served, and the errors of its latest edit."""
        out = []
        with self._lock:
            for name, path in self._paths().items():
                entry = self._refresh(name, path)
                out.append({"name": name, "file": str(path), "serving": entry.policy is not None,
                            "rules": [r.id for r in entry.policy.rules] if entry.policy else [],
                            "errors": entry.errors})
        return out
