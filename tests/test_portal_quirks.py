"""Issue 11 "Done when": a full sync under every real variant at once (CONTRACT §7) gives the same
mirror, row for row (teachers included), and the same findings as a sync of the plain simulator.

Until the simulator's own `--quirks` exist (helper A), `RealShapes` wraps the simulator and
rewrites its answers into the real shapes: `userRoles: []`, a trailing empty `ESRNSec=;`
cookie, subject groups without `teachers` (served instead by `subjectgroups/terms`) and with
terms as objects, journals whose `totals` lack `termId` (or are null) and whose empty `marks`/
`attendance` keys are absent, and "no plan" as `subjectPlanId: 0` without `lessons`. The client
sends the long login form throughout."""

from __future__ import annotations

import datetime as dt

import pytest
from real_shapes import RealShapes, findings, mirror_rows

from asurso_sync.demo import sync_simulator
from asurso_sync.mirror.schema import SYNCED_TABLES
from asurso_sync.simulator import make_app

AS_OF = dt.date(2026, 5, 20)


@pytest.mark.slow
def test_a_full_sync_under_every_real_variant_gives_the_same_mirror_and_findings(
    small_school, tmp_path
):
    plain, quirky = tmp_path / "plain.db", tmp_path / "quirky.db"
    sync_simulator(plain, app=make_app(small_school, as_of=AS_OF), as_of=AS_OF)
    shapes = RealShapes(make_app(small_school, as_of=AS_OF))
    sync_simulator(quirky, app=shapes, as_of=AS_OF)
    assert set(shapes.rewritten) >= {
        "/webapi/login",
        "/webapi/subjectgroups",
        "/webapi/subjectgroups/terms",
        "/webapi/grade/journal",
    }
    want, got = mirror_rows(plain), mirror_rows(quirky)
    assert {t: len(r) for t, r in got.items()} == {t: len(r) for t, r in want.items()}
    for table in SYNCED_TABLES:
        assert got[table] == want[table], table
    assert want["subject_group_teachers"] and want["period_marks"]
    assert findings(quirky, AS_OF) == findings(plain, AS_OF)
