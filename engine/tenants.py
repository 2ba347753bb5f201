"""Tenants and API keys for ``followup serve --tenants tenants.yaml``.

A tenants file names each tenant, the directory of its policies (relative to the file)
and the SHA-256 hashes of its API keys::

    # who may call this server
    tenants:
      acme:
        policies: acme            # a directory beside this file
        keys:
          - sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

It is read with :func:`engine.source.read_document` (within the limits; errors located
``tenants.yaml:LINE:COL``) and checked whole before the server starts.

A request names its tenant by a key, ``Authorization: Bearer fu_...``. The key's SHA-256
is compared with **every** stored hash with :func:`hmac.compare_digest` (no early exit,
so the time taken says nothing about which hash, or which tenant, came close). A plain
hash is enough because keys are 256 random bits (:func:`new_key`): nobody can guess one,
and a slow password hash only protects low-entropy secrets.

Each tenant gets its own :class:`~engine.policy.store.PolicyStore` (its directory plus the
shipped policies, reloaded on change, the last good version kept) and so sees and uses
only its own policies. The tenants file itself is reloaded when it changes
(:meth:`Auth.refresh`), so keys are added and revoked without a restart. :func:`add_key` (``followup tenant add-key``) creates a key,
stores its hash (creating the tenant if needed) and returns the key, which is stored
nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, Problem, did_you_mean
from .limits import DEFAULT_LIMITS, Limits
from .source import Document, read_document

__all__ = ["KEY_PREFIX", "Tenant", "Tenants", "TenantContext", "Auth", "load_tenants", "parse_tenants",
           "new_key", "hash_key", "add_key", "ANONYMOUS"]

log = logging.getLogger("followup.server")

#: every key starts with this, so a leaked key is recognisable (secret scanners, logs)
KEY_PREFIX = "fu_"
#: how a stored hash is written
HASH_PREFIX = "sha256:"
#: the tenant name of requests to a server without ``--tenants``
ANONYMOUS = "-"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_TENANT_FIELDS = ("policies", "keys")


@dataclass(frozen=True)
class Tenant:
    """One tenant: its name, the directory of its policies, the digests of its keys."""

    name: str
    policies: Path
    digests: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Tenants:
    """A checked tenants file."""

    path: Path
    tenants: dict[str, Tenant] = field(default_factory=dict)

    def authenticate(self, authorization: str | bytes | None) -> Tenant | None:
        """The tenant whose key the ``Authorization`` header carries, or ``None``.

        Every stored digest is compared, whatever matches, in constant time each."""
        key = bearer_key(authorization)
        digest = hashlib.sha256(key).digest() if key is not None else b"\0" * 32
        found = None
        for tenant in self.tenants.values():
            for stored in tenant.digests:
                if hmac.compare_digest(digest, stored) and key is not None:
                    found = tenant
        return found


def bearer_key(authorization: str | bytes | None) -> bytes | None:
    """The key of an ``Authorization: Bearer KEY`` header value (bytes), or ``None``."""
    if authorization is None:
        return None
    raw = authorization.encode("latin-1", "replace") if isinstance(authorization, str) else authorization
    scheme, _, key = raw.strip().partition(b" ")
    key = key.strip()
    if scheme.lower() != b"bearer" or not key or len(key) > 512:
        return None
    return key


def new_key() -> str:
    """A new API key: :data:`KEY_PREFIX` and 32 random bytes, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """What a tenants file stores for ``key``: ``sha256:`` and its hex digest."""
    return HASH_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- reading


def load_tenants(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Tenants:
    """Read and check a tenants file; raise :class:`InputError` (every problem, located)."""
    doc = read_document(os.fspath(path), limits=limits)
    return parse_tenants(doc, Path(path))


def parse_tenants(doc: Document, path: Path, *, check_dirs: bool = True) -> Tenants:
    """Check the parsed tenants file ``doc`` read from ``path``; raise :class:`InputError`."""
    problems: list[Problem] = []

    def bad(message: str, at: tuple, key: bool = False, code: str = "tenants.invalid") -> None:
        problems.append(Problem(code, message, doc.loc_of(at, key=key), path=_dotted(at) or None))

    data = doc.data
    if not isinstance(data, dict):
        raise InputError(Problem("tenants.invalid", "a tenants file is a mapping with a `tenants` key",
                                 doc.loc_of(())))
    for key in data:
        if key != "tenants":
            bad(f"unknown field `{str(key)[:60]}` (expected `tenants`){did_you_mean(str(key), ['tenants'])}",
                (key,), key=True, code="tenants.unknown-field")
    entries = data.get("tenants")
    if "tenants" not in data:
        bad("missing required field `tenants`", ())
    elif entries is None:
        entries = {}
    elif not isinstance(entries, dict):
        bad("`tenants` must be a mapping of tenant names to tenants", ("tenants",))
        entries = {}
    tenants: dict[str, Tenant] = {}
    owner: dict[bytes, str] = {}
    base = path.parent
    for name, entry in (entries or {}).items():
        at = ("tenants", name)
        if not isinstance(name, str) or not _NAME.match(name):
            bad(f"tenant name `{str(name)[:60]}` must be 1-64 letters, digits, `_`, `.` or `-` (starting with a "
                "letter or digit)", at, key=True)
            continue
        if not isinstance(entry, dict):
            bad(f"tenant `{name}` must be a mapping with `policies` and `keys`", at)
            continue
        for key in entry:
            if key not in _TENANT_FIELDS:
                bad(f"unknown field `{str(key)[:60]}` (expected `policies` or `keys`)"
                    f"{did_you_mean(str(key), _TENANT_FIELDS)}", (*at, key), key=True, code="tenants.unknown-field")
        policies = entry.get("policies")
        directory = None
        if "policies" not in entry:
            bad(f"tenant `{name}` has no `policies` directory", at)
        elif not isinstance(policies, str) or not policies.strip() or "\0" in policies:
            bad("`policies` must be a directory path (relative to the tenants file)", (*at, "policies"))
        else:
            directory = base / policies
            if check_dirs and not directory.is_dir():
                bad(f"`policies`: `{policies[:100]}` is not a directory", (*at, "policies"))
        keys = entry.get("keys", [])
        digests: list[bytes] = []
        if keys is None:
            keys = []
        if not isinstance(keys, list):
            bad("`keys` must be a list of key hashes (`sha256:` and 64 hex digits)", (*at, "keys"))
            keys = []
        for i, value in enumerate(keys):
            if not isinstance(value, str) or not _HASH.match(value):
                bad("a key hash is `sha256:` and 64 lowercase hex digits (`followup tenant add-key` writes them); "
                    "never store a key itself", (*at, "keys", i))
                continue
            digest = bytes.fromhex(value[len(HASH_PREFIX):])
            if digest in owner:
                bad(f"this key hash is already listed (for tenant `{owner[digest]}`); a key names one tenant",
                    (*at, "keys", i), code="tenants.duplicate-key")
                continue
            owner[digest] = name
            digests.append(digest)
        if directory is not None:
            tenants[name] = Tenant(name, directory, tuple(digests))
    if problems:
        raise InputError(problems)
    return Tenants(path, tenants)


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --------------------------------------------------------------------------- the server side


@dataclass
class TenantContext:
    """What a request of one tenant uses: its policy store and what is sent to workers."""

    name: str
    store: Any  # PolicyStore
    refs: Any  # engine.service.PolicyRefs


class Auth:
    """The server's tenants: one :class:`TenantContext` each, and the ASGI middleware that
    authenticates ``/v1/`` requests (:meth:`middleware`).

    Without a tenants file there is one anonymous tenant (:data:`ANONYMOUS`) using
    ``default_store`` and no key is asked for.
    """

    #: paths served without a key
    OPEN = ("/healthz", "/readyz", "/metrics")
    #: the tenants file is looked at (its mtime and size) at most this often, in seconds
    RECHECK = 1.0

    def __init__(self, tenants: Tenants | None, default_store: Any):
        self.tenants = tenants
        #: reloads of the tenants file, and those that failed (the last good one kept)
        self.reloads = 0
        self.reload_errors = 0
        if tenants is None:
            from .service import PolicyRefs
            self.contexts = {ANONYMOUS: TenantContext(ANONYMOUS, default_store, PolicyRefs(default_store))}
            return
        self.contexts = self._contexts(tenants, {})
        self._stamp = _file_stamp(tenants.path)
        self._checked = time.monotonic()

    @staticmethod
    def _contexts(tenants: Tenants, old: dict[str, TenantContext]) -> dict[str, TenantContext]:
        """A context per tenant; a tenant whose directory is unchanged keeps its store (and its cache)."""
        from .policy.store import PolicyStore
        from .service import PolicyRefs
        out = {}
        for name, tenant in tenants.tenants.items():
            context = old.get(name)
            if context is None or context.store.directory != tenant.policies:
                store = PolicyStore(tenant.policies)
                context = TenantContext(name, store, PolicyRefs(store))
            out[name] = context
        return out

    def refresh(self) -> None:
        """Load the tenants file again if it changed (looked at once per :data:`RECHECK` at
        most): added and revoked keys, new and removed tenants apply to the next request. A
        version that does not load is logged and counted; the last good one stays."""
        if self.tenants is None or time.monotonic() - self._checked < self.RECHECK:
            return
        self._checked = time.monotonic()
        stamp = _file_stamp(self.tenants.path)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self.reloads += 1
        try:
            tenants = load_tenants(self.tenants.path)
        except InputError as exc:
            self.reload_errors += 1
            log.warning("the tenants file does not load; the last good version stays in service: %s",
                        "; ".join(exc.lines()))
            return
        except OSError as exc:
            self.reload_errors += 1
            log.warning("the tenants file cannot be read (%s); the last good version stays in service", exc)
            return
        # one assignment each: a request sees the old tenants or the new ones
        self.contexts = self._contexts(tenants, self.contexts)
        self.tenants = tenants
        log.info("tenants file reloaded: %d tenants", len(tenants.tenants))

    def of(self, scope: dict) -> TenantContext:
        """The tenant of a request the middleware let through (as it was when the request
        came in, even if the tenants file was reloaded since)."""
        return scope.get("followup.tenant") or self.contexts[ANONYMOUS]

    def middleware(self, error):
        """An ASGI middleware class: 401 ``auth.unauthorized`` for a ``/v1/`` request without a
        valid key (with ``WWW-Authenticate: Bearer``); ``error(status, problems, headers)``
        builds the answer."""
        auth = self

        class _Authenticate:
            def __init__(self, app):
                self.app = app

            async def __call__(self, scope, receive, send):
                if scope["type"] != "http" or auth.tenants is None or not _guarded(scope.get("path", "")):
                    await self.app(scope, receive, send)
                    return
                auth.refresh()
                header = None
                for name, value in scope.get("headers", ()):
                    if name == b"authorization":
                        header = value
                        break
                tenant = auth.tenants.authenticate(header)
                context = auth.contexts.get(tenant.name) if tenant is not None else None
                if context is None:
                    message = ("a valid API key is required: send `Authorization: Bearer KEY`" if header is None
                               else "the API key is not valid")
                    response = error(401, [Problem("auth.unauthorized", message)],
                                     {"WWW-Authenticate": 'Bearer realm="followup"'})
                    await response(scope, receive, send)
                    return
                scope["followup.tenant"] = context
                ops = scope.get("followup.ops")
                if isinstance(ops, dict):
                    ops["tenant"] = tenant.name
                await self.app(scope, receive, send)

        return _Authenticate


def _file_stamp(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def _guarded(path: str) -> bool:
    """Whether a path needs a key: everything under ``/v1/`` (the answers and the policies)."""
    return path.startswith("/v1/") or path == "/v1"


# --------------------------------------------------------------------------- followup tenant add-key


_HEADER = ("# followup serve --tenants: who may call the server, with which policies.\n"
           "# Keys are stored as SHA-256 hashes; `followup tenant add-key FILE NAME` adds one.\n")


def add_key(path: str | os.PathLike[str], name: str, policies: str | None = None,
            limits: Limits = DEFAULT_LIMITS) -> tuple[str, list[str]]:
    """Add a new key to tenant ``name`` of the tenants file ``path`` (creating the file and the
    tenant, with ``policies`` or ``name`` as its directory, if needed); return the key and notes.

    The file is checked before (it must be a valid tenants file) and after the edit, and
    replaced atomically (written beside it, then renamed), keeping its comments and its
    permissions. Only the key's hash is written.
    """
    path = Path(path)
    notes: list[str] = []
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(Problem("tenants.invalid", f"tenant name `{str(name)[:60]}` must be 1-64 letters, digits, "
                                 "`_`, `.` or `-` (starting with a letter or digit)"))
    if path.exists():
        doc = read_document(os.fspath(path), limits=limits)
        parse_tenants(doc, path, check_dirs=False)
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode & 0o777
    else:
        text, mode = _HEADER + "tenants: {}\n", 0o600
    key = new_key()
    digest = hash_key(key)
    new_text, kept = _edited(text, name, policies or name, digest)
    if not kept:
        notes.append(f"{path}: comments were not kept (install ruamel.yaml to keep them)")
    # the result must read back as the same tenants plus this key
    check = parse_tenants(read_document(new_text, str(path), limits), path, check_dirs=False)
    if digest[len(HASH_PREFIX):] not in [d.hex() for d in check.tenants[name].digests]:
        raise RuntimeError("the edited tenants file does not hold the new key")  # pragma: no cover
    _write_atomically(path, new_text, mode)
    directory = check.tenants[name].policies
    if not directory.is_dir():
        notes.append(f"{path}: tenant `{name}` serves policies from `{directory}`, which does not exist yet")
    return key, notes


def _edited(text: str, name: str, policies: str, digest: str) -> tuple[str, bool]:
    """``text`` with ``digest`` added to tenant ``name``; whether comments were kept."""
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml.comments import CommentedMap, CommentedSeq
    except ImportError:  # pragma: no cover - ruamel.yaml is in the [server] extra
        import yaml
        data = yaml.safe_load(text) or {}
        tenants = data.setdefault("tenants", None) or {}
        data["tenants"] = tenants
        entry = tenants.setdefault(name, None) or {"policies": policies, "keys": []}
        tenants[name] = entry
        entry["keys"] = list(entry.get("keys") or []) + [digest]
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True), not any(
            line.lstrip().startswith("#") or " #" in line for line in text.splitlines())
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load(text)
    if data is None:
        data = CommentedMap()
    if data.get("tenants") is None:
        data["tenants"] = CommentedMap()
    tenants = data["tenants"]
    if tenants.get(name) is None:
        entry = CommentedMap()
        entry["policies"] = policies
        entry["keys"] = CommentedSeq()
        tenants[name] = entry
    entry = tenants[name]
    if entry.get("keys") is None:
        entry["keys"] = CommentedSeq()
    entry["keys"].append(digest)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue(), True


def _write_atomically(path: Path, text: str, mode: int) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
