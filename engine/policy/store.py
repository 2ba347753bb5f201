"""A directory of policies served by name, reloaded when their files change.

Used by the HTTP server. Each lookup compares the (mtime, size) of every file the
policy was made from, and of the directories they are in (a file created, renamed
or deleted there may change what ``extends`` finds), with what was loaded; on a
change the policy is loaded again. A reload that fails, for any reason, never
replaces the last good version: it keeps serving, and the errors are reported by
:meth:`PolicyStore.status` until the file is fixed. An unexpected exception (a bug,
not a bad file) is logged with its traceback on the ``followup.policy`` logger and
reported as an ``internal`` error line without its details.

Files are shown relative to the policies directory (``acme.yaml``,
``shared/base.yaml``), shipped ones as ``shipped:etiquette.yaml``: never as absolute
paths of the machine. One policy's broken file changes nothing for the others (except
those that extend it, which keep their last good version).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Loc, Problem
from .extends import resolve_document
from .loader import Policy, is_policy_file, policy_from_document, shipped_dir, shipped_policies

__all__ = ["PolicyStore", "SHIPPED_PREFIX"]

log = logging.getLogger("followup.policy")

#: how ``status()`` and error lines name a shipped policy's file: ``shipped:etiquette.yaml``
SHIPPED_PREFIX = "shipped:"


@dataclass
class _Entry:
    path: Path
    #: (path, mtime, size) of every file and directory the latest load read or looked in
    stamp: tuple | None = None
    #: the files and directories to watch: those of the latest load, good or not
    watched: tuple[Path, ...] = ()
    policy: Policy | None = None
    errors: list[str] = field(default_factory=list)


def _stamp(paths) -> tuple:
    out = []
    for path in paths:
        stat = path.stat()
        out.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


def _watched(path: Path, read: list[Path]) -> tuple[Path, ...]:
    files = [Path(os.path.abspath(path)), *read]
    return tuple(dict.fromkeys([*files, *(f.parent for f in files)]))


class PolicyStore:
    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.directory = Path(directory) if directory else None
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._roots: list[tuple[Path, str]] = []
        #: loads of a policy version (the first and every reload), and those that failed (for metrics)
        self.loads = 0
        self.load_errors = 0
        if self.directory is not None:
            self._roots += [(Path(os.path.abspath(self.directory)), ""), (self.directory.resolve(), "")]
        shipped = shipped_dir()
        self._roots += [(Path(os.path.abspath(shipped)), SHIPPED_PREFIX), (shipped.resolve(), SHIPPED_PREFIX)]
        #: the directories whose entries name the policies, and the last listing with their stamps
        self._listed = [shipped, shipped / "agencies", *([self.directory] if self.directory is not None else [])]
        self._listing: tuple[tuple | None, dict[str, Path]] = (None, {})

    def shown(self, file: str | os.PathLike[str]) -> str:
        """``file`` as the store shows it: relative to the policies directory, or ``shipped:...``."""
        path = Path(os.path.abspath(file))
        real = None
        for root, prefix in self._roots:
            candidate = path
            if not path.is_relative_to(root):
                if real is None:
                    try:
                        real = path.resolve()
                    except (OSError, RuntimeError, ValueError):
                        real = path
                candidate = real
            if candidate.is_relative_to(root):
                return prefix + candidate.relative_to(root).as_posix()
        return path.name  # not under a root (cannot happen for files `extends` reaches)

    def _lines(self, exc: InputError) -> list[str]:
        out = []
        for p in exc.problems:
            loc = Loc(self.shown(p.loc.file), p.loc.line, p.loc.col) if p.loc else None
            out.append(str(Problem(p.code, p.message, loc, p.severity, path=p.path)))
        if exc.truncated:
            out.append(f"... and {exc.truncated} more problems")
        return out

    def _paths(self) -> dict[str, Path]:
        """Policy name -> file: listed again only when a directory's modification time changed
        (adding, removing or renaming a file changes it), one ``stat`` per directory otherwise."""
        try:
            stamp: tuple | None = tuple(os.stat(d).st_mtime_ns for d in self._listed)
        except OSError:
            stamp = None  # a directory is missing or unreadable: list (and report) every time
        if stamp is not None and self._listing[0] == stamp:
            return self._listing[1]
        paths = self._list()
        # a directory changed within the last seconds may change again within its timestamp's
        # granularity (a second on some file systems) without a new stamp: not kept until it settles
        if stamp is not None and time.time_ns() - max(stamp) > 2_000_000_000:
            self._listing = (stamp, paths)
        return paths

    def _list(self) -> dict[str, Path]:
        paths = dict(shipped_policies())
        if self.directory is not None:
            try:
                found = sorted(self.directory.glob("*.yaml")) + sorted(self.directory.glob("*.yml"))
            except OSError as exc:
                log.warning("cannot list the policies directory %s: %s", self.directory, exc)
                found = []
            for path in found:
                if is_policy_file(path):
                    paths[path.stem] = path
        return paths

    def _load(self, path: Path, read: list[Path]) -> Policy:
        search = [self.directory] if self.directory is not None else []
        if not path.is_file():  # a FIFO or device would block the reload; a directory cannot load
            raise InputError(Problem("input.not-a-file", "not a regular file", Loc(str(path))))
        doc, files = resolve_document(path, search, read=read)
        return dataclasses.replace(policy_from_document(doc), files=files)

    def _refresh(self, name: str, path: Path) -> _Entry:
        entry = self._entries.get(name)
        if entry is None or entry.path != path:
            entry = self._entries[name] = _Entry(path)
        try:
            if _stamp(entry.watched or _watched(path, [])) == entry.stamp:
                return entry
        except OSError:
            pass  # a file of the latest load is gone: load again, and find out what is missing
        read: list[Path] = []
        self.loads += 1
        try:
            policy = self._load(path, read)
        except InputError as exc:
            entry.errors = self._lines(exc)  # the last good version stays in service
        except OSError as exc:
            where = exc.filename if isinstance(exc.filename, str) else path
            entry.errors = [f"{self.shown(where)}: error[input.unreadable]: "
                            f"{(exc.strerror or 'cannot be read').lower()}"]
        except Exception:  # a bug, not a bad file: logged in full, reported without internals
            log.exception("policy `%s` (%s) failed to load with an unexpected error", name, path)
            entry.errors = [f"{self.shown(path)}: error[internal]: an internal error stopped this version from "
                            "loading (the server logged it)"]
        else:
            entry.policy, entry.errors = policy, []
        if entry.errors:
            self.load_errors += 1
        entry.watched = _watched(path, read)
        try:
            entry.stamp = _stamp(entry.watched)
        except OSError:
            entry.stamp = None  # something vanished meanwhile: load again next time
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

    def serving_count(self) -> int:
        """How many policies looked up so far have a version in service (no file is read)."""
        return sum(1 for entry in list(self._entries.values()) if entry.policy is not None)

    def status(self) -> list[dict]:
        """Every known policy: name, file, whether it is served, its rules, the revision in service
        (``None`` if none) and the errors of its latest edit.

        Never raises for one policy's sake: a policy whose reload fails lists its errors.
        """
        out = []
        with self._lock:
            for name, path in self._paths().items():
                try:
                    entry = self._refresh(name, path)
                except Exception:  # never: _refresh reports its failures; but one policy must not fail them all
                    log.exception("policy `%s` (%s): unexpected error while checking it", name, path)
                    entry = self._entries.get(name) or _Entry(path)
                out.append({"name": name, "file": self.shown(path), "serving": entry.policy is not None,
                            "rules": [r.id for r in entry.policy.rules] if entry.policy else [],
                            "revision": entry.policy.revision if entry.policy else None,
                            "errors": entry.errors})
        return out
