"""The NetSchool (АСУ РСО) portal simulator: a generated school, served over WSGI, with a clock,
fault injection and an independent ground-truth evaluator of the rules.

    school = build_school(size="small", seed=1, year_start=2025)
    app = make_app(school, as_of=datetime.date(2026, 5, 20), latency_ms=0, faults=FaultSpec.parse("5xx=0.1,seed=3"))
    app = make_app(school, quirks="roles_empty,plan_zero")   # real-portal variants, or "all"
    app.set_as_of(datetime.date(2026, 5, 27))
    app.accounts            # [{"role", "login", "password", "school_id"}, ...]
    ground_truth(school, as_of=datetime.date(2026, 5, 20))
    server = serve(app, host="127.0.0.1", port=0); server.url; server.shutdown()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from asurso_sync.simulator.app import Simulator
from asurso_sync.simulator.faults import FaultSpec
from asurso_sync.simulator.generate import build_school
from asurso_sync.simulator.model import School
from asurso_sync.simulator.quirks import QUIRKS, parse_quirks
from asurso_sync.simulator.server import Server, serve
from asurso_sync.simulator.truth import ground_truth

__all__ = [
    "QUIRKS",
    "FaultSpec",
    "School",
    "Server",
    "Simulator",
    "build_school",
    "ground_truth",
    "make_app",
    "serve",
]


def make_app(
    school: School,
    as_of: dt.date | None = None,
    latency_ms: float = 0,
    faults: FaultSpec | str | None = None,
    time_out_ms: int = 3600000,
    quirks: str | Iterable[str] | None = None,
) -> Simulator:
    """The WSGI app serving `school` as it stands at the end of `as_of` (default: today).

    `quirks`: real-portal variants to serve (`quirks.QUIRKS`), a comma list, names, or "all".
    """
    if isinstance(faults, str):
        faults = FaultSpec.parse(faults)
    return Simulator(
        school,
        as_of=as_of,
        latency_ms=latency_ms,
        faults=faults,
        time_out_ms=time_out_ms,
        quirks=parse_quirks(quirks),
    )
