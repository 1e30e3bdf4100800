"""Fault injection (CONTRACT §6), decided per request from (seed, method, path+query, attempt).

The same request retried gets the next attempt number and so a fresh decision: a client with
bounded retries can get through, and no decision depends on thread scheduling.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, fields
from typing import Any

KINDS = (
    "5xx",
    "timeout",
    "expire",
    "security",
    "roles",
    "blocked",
    "truncated",
    "nonjson",
    "layout",
)
# The `layout` fault's renames: a required key under a name the client does not know.
LAYOUT_RENAMES = {
    "classMeeting": "classMeetings",
    "lessons": "lessonList",
    "fullName": "fio",
    "termName": "name",
    "weekDays": "days",
    "subjectPlanId": "planId",
}


@dataclass(frozen=True)
class FaultSpec:
    """Rates (0..1) per fault kind, the seed, and how long a `timeout` hangs."""

    r5xx: float = 0.0
    timeout: float = 0.0
    expire: float = 0.0
    security: float = 0.0
    roles: float = 0.0
    blocked: float = 0.0
    truncated: float = 0.0
    nonjson: float = 0.0
    layout: float = 0.0
    seed: int = 0
    hang_s: float = 2.0

    @classmethod
    def parse(cls, spec: str | None) -> FaultSpec:
        """`"5xx=0.1,timeout=0.05,seed=7,hang_s=2"`; empty or None → no faults."""
        values: dict[str, float | int] = {}
        for part in (spec or "").split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, raw = part.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f"fault spec item {part!r} is not key=value")
            name = "r5xx" if key == "5xx" else key
            if name not in {f.name for f in fields(cls)}:
                raise ValueError(
                    f"unknown fault kind {key!r}; known: {', '.join(KINDS)}, seed, hang_s"
                )
            try:
                number = float(raw)
            except ValueError:
                raise ValueError(f"fault spec {key}={raw!r}: not a number") from None
            if name == "seed":
                values[name] = int(number)
            elif name == "hang_s":
                values[name] = number
            else:
                if not 0 <= number <= 1:
                    raise ValueError(f"fault rate {key}={raw} is not between 0 and 1")
                values[name] = number
        return cls(**values)  # type: ignore[arg-type]

    def rate(self, kind: str) -> float:
        return getattr(self, "r5xx" if kind == "5xx" else kind)

    @property
    def active(self) -> bool:
        return any(self.rate(k) > 0 for k in KINDS)

    def __str__(self) -> str:
        parts = [f"{k}={self.rate(k):g}" for k in KINDS if self.rate(k) > 0]
        return ",".join(parts + [f"seed={self.seed}", f"hang_s={self.hang_s:g}"])


class FaultPlan:
    """Counts attempts per request and answers "does fault `kind` hit this attempt?"."""

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    def attempt(self, method: str, target: str) -> int:
        key = f"{method} {target}"
        with self._lock:
            n = self._attempts.get(key, 0) + 1
            self._attempts[key] = n
        return n

    def last_attempt(self, method: str, target: str) -> int:
        """The attempt number `attempt()` last gave this request (1 when never counted)."""
        with self._lock:
            return self._attempts.get(f"{method} {target}", 1)

    def hits(self, kind: str, method: str, target: str, attempt: int) -> bool:
        rate = self.spec.rate(kind)
        if rate <= 0:
            return False
        if rate >= 1:
            return True
        digest = hashlib.sha256(
            f"{self.spec.seed}|{kind}|{method}|{target}|{attempt}".encode()
        ).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < rate


def rename_key(data: Any) -> Any:
    """The `layout` fault: rename one required key (deterministically) of a JSON answer."""
    data = json.loads(json.dumps(data))
    if isinstance(data, dict) and data.get("journals"):
        journal = data["journals"][0]
        if "classMeeting" in journal:
            journal["classMeetings"] = journal.pop("classMeeting")
            return data
    targets = data if isinstance(data, list) else [data]
    for item in targets:
        if isinstance(item, dict) and item:
            key = next((k for k in item if k in LAYOUT_RENAMES), next(iter(item)))
            item[LAYOUT_RENAMES.get(key, key + "s")] = item.pop(key)
    return data
