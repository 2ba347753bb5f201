"""A job-application tracker's side of the followup HTTP API, with the standard library only.

Start the service, then run this script against it::

    followup serve --port 8080                       # in one terminal (add --engine durable|reference)
    python examples/tracker_client.py                # in another

By default it loads ``examples/over-eager.yaml``, asks whether Jordan may send Nadia
a status inquiry by email on Wed 8 April 2026 10:00 New York time, and prints the
decision and the agenda as of that instant. Options::

    python examples/tracker_client.py --url http://127.0.0.1:8080 \\
        --timeline examples/model-candidate.yaml --to marcus --channel email \\
        --at 2026-03-16T12:00:00-05:00

The functions :func:`audit`, :func:`check` and :func:`agenda` are what a tracker would
call: each posts a timeline (a dict in the timeline format, v1) and returns the
decoded JSON answer, or raises :class:`ServiceError` with the service's one-line
messages (a 422 names ``request:LINE:COL`` in the JSON that was sent). Only
:func:`load_timeline_file` needs PyYAML (a dependency of followup), to read YAML
timelines; a tracker that already holds its data as a dict does not.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_URL", "ServiceError", "audit", "check", "agenda", "policies", "health",
           "load_timeline_file", "main"]

DEFAULT_URL = "http://127.0.0.1:8080"
HERE = Path(__file__).resolve().parent


class ServiceError(Exception):
    """The service refused the request (``status`` 413, 422, ...) or could not be reached (``status`` 0)."""

    def __init__(self, status: int, messages: list[str], body: Any = None):
        super().__init__(f"HTTP {status}: " + "; ".join(messages) if status else "; ".join(messages))
        self.status = status
        self.messages = messages
        self.body = body


def _call(method: str, path: str, payload: dict | None, base_url: str, timeout: float) -> Any:
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        try:
            body = json.loads(text)
            messages = body.get("messages") or [text]
        except ValueError:
            body, messages = text, [text or exc.reason]
        raise ServiceError(exc.code, messages, body) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(0, [f"cannot reach {base_url}: {reason}"]) from None


def audit(timeline: dict, as_of: str, *, policy: str = "etiquette", base_url: str = DEFAULT_URL,
          timeout: float = 30.0) -> dict:
    """``POST /v1/audit``: ``{"as_of", "policy", "findings": [...]}``."""
    return _call("POST", "/v1/audit", {"timeline": timeline, "as_of": as_of, "policy": policy}, base_url, timeout)


def check(timeline: dict, action: dict, at: str | None = None, *, policy: str = "etiquette",
          base_url: str = DEFAULT_URL, timeout: float = 30.0) -> dict:
    """``POST /v1/check``: may the candidate send ``action`` at ``at``?

    ``action`` is ``{"type", "to", "channel"}`` (plus ``application`` when the timeline
    has several, optional ``body``, and ``at`` if ``at`` is not given here). Returns
    ``{"decision", "at", "earliest", "findings", "alternatives", "policy"}``.
    """
    payload: dict[str, Any] = {"timeline": timeline, "action": action, "policy": policy}
    if at is not None:
        payload["at"] = at
    return _call("POST", "/v1/check", payload, base_url, timeout)


def agenda(timeline: dict, as_of: str, *, policy: str = "etiquette", base_url: str = DEFAULT_URL,
           timeout: float = 30.0) -> dict:
    """``POST /v1/agenda``: ``{"as_of", "policy", "items": [...]}``."""
    return _call("POST", "/v1/agenda", {"timeline": timeline, "as_of": as_of, "policy": policy}, base_url, timeout)


def policies(*, base_url: str = DEFAULT_URL, timeout: float = 10.0) -> list[dict]:
    """``GET /v1/policies``: the policies the service knows, and whether each is served."""
    return _call("GET", "/v1/policies", None, base_url, timeout)["policies"]


def health(*, base_url: str = DEFAULT_URL, timeout: float = 5.0) -> dict:
    """``GET /healthz``: ``{"status": "ok", "engine": ...}``."""
    return _call("GET", "/healthz", None, base_url, timeout)


def load_timeline_file(path: str | Path) -> dict:
    """A timeline file (YAML or JSON) as the dict to send.

    Dates and times stay exactly as written (YAML would otherwise turn them into
    date objects), so a zone-less local time is still read in the timeline's zone.
    """
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".json"):
        return json.loads(text)
    import yaml

    class TextTimes(yaml.SafeLoader):
        pass

    TextTimes.yaml_implicit_resolvers = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return yaml.load(text, Loader=TextTimes)  # noqa: S506 - a SafeLoader subclass


def _print_decision(result: dict, action: dict) -> None:
    whom = ", ".join(action["to"]) if isinstance(action["to"], list) else action["to"]
    print(f"{action['type'].replace('_', ' ')} to {whom} by {action['channel']} at {result['at']}: "
          f"{result['decision'].upper()}")
    for finding in result["findings"]:
        print(f"  {finding['severity']:<9} {finding['rule']}: {finding['message']}")
    if result["decision"] == "deny":
        print(f"  earliest allowed: {result['earliest'] or 'never, as planned'}")
    for alternative in result["alternatives"]:
        print(f"  instead: {alternative['reason']}  {json.dumps(alternative['change'])}")


def _print_agenda(result: dict) -> None:
    print(f"agenda as of {result['as_of']} (policy {result['policy']}):")
    for item in result["items"]:
        print(f"  {item['kind']:<15} {item['message']}")
    if not result["items"]:
        print("  nothing due")


def main(argv: list[str] | None = None) -> int:
    """Print the decision on one planned status inquiry, and the agenda; 0 allow, 1 deny, 2 error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the followup service (default {DEFAULT_URL})")
    parser.add_argument("--timeline", default=str(HERE / "over-eager.yaml"), help="a timeline file, YAML or JSON")
    parser.add_argument("--to", default="nadia", help="the contact id to inquire with (default nadia)")
    parser.add_argument("--channel", default="email")
    parser.add_argument("--application", help="the application id (needed when the timeline has several)")
    parser.add_argument("--at", default="2026-04-08T10:00:00-04:00",
                        help="when the inquiry would be sent, and the agenda's as-of (ISO 8601 with an offset)")
    parser.add_argument("--policy", default="etiquette")
    args = parser.parse_args(argv)

    timeline = load_timeline_file(args.timeline)
    action: dict[str, Any] = {"type": "status_inquiry", "to": [args.to], "channel": args.channel}
    if args.application:
        action["application"] = args.application
    try:
        decision = check(timeline, action, args.at, policy=args.policy, base_url=args.url)
        todo = agenda(timeline, args.at, policy=args.policy, base_url=args.url)
    except ServiceError as exc:
        for message in exc.messages:
            print(f"error: {message}", file=sys.stderr)
        return 2
    _print_decision(decision, action)
    print()
    _print_agenda(todo)
    return 1 if decision["decision"] == "deny" else 0


if __name__ == "__main__":
    sys.exit(main())
