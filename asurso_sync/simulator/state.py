"""What the running portal remembers: the school at its clock, the sessions and login salts."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from asurso_sync.simulator.faults import FaultPlan, FaultSpec
from asurso_sync.simulator.model import School, User
from asurso_sync.simulator.served import View
from asurso_sync.simulator.wsgi import Request, Response


@dataclass
class Session:
    at: str
    user: User
    esrn: str
    nssession: str
    last: float
    role_id: int | None
    warn_pending: bool = False
    alive: bool = True

    @property
    def role_name(self) -> str:
        return dict(self.user.roles).get(self.role_id or 0, "")

    @property
    def is_staff(self) -> bool:
        return self.role_id in (1, 3, 5)

    @property
    def is_family(self) -> bool:
        return self.role_id in (2, 4)


class State:
    """The school served at the end of `as_of`, the session clock, sessions and salts."""

    def __init__(
        self,
        school: School,
        as_of: dt.date,
        faults: FaultSpec,
        time_out_ms: int,
        quirks: frozenset[str] = frozenset(),
    ) -> None:
        self.school = school
        self.quirks = quirks
        self.as_of = as_of
        self.view = View(school, as_of)
        self.faults = faults
        self.fault_plan = FaultPlan(faults)
        self.time_out_ms = time_out_ms
        self.clock_offset = 0.0
        self.lock = threading.Lock()
        self.rng = random.Random(f"sessions/{school.seed}")
        self.salts: dict[str, dict[str, str]] = {}  # NSSESSIONID -> {salt, lt, ver}
        self.sessions: dict[str, Session] = {}
        self.warned_once: set[int] = set()

    def set_as_of(self, as_of: dt.date) -> None:
        with self.lock:
            self.as_of = as_of
            self.view = View(self.school, as_of)

    def clock(self) -> float:
        """Seconds on the session clock (monotonic + what tests advanced)."""
        return time.monotonic() + self.clock_offset

    def token(self, digits: int) -> str:
        with self.lock:
            return "".join(str(self.rng.randint(0, 9)) for _ in range(digits)).lstrip("0") or "1"

    def quirk(self, name: str) -> bool:
        """Whether the real-portal variant `name` (quirks.QUIRKS) is served."""
        return name in self.quirks

    def timed_out(self, session: Session, now: float) -> bool:
        return now - session.last > self.time_out_ms / 1000


Handler = Callable[[State, Request, Session | None], Response]
Routes = dict[tuple[str, str], Handler]
