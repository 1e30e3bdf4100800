"""Staff data follows the year selected in the user's settings unless `yearId` is passed (issue
11): every staff call names the mirror's year, so a sync after the portal's year switch keeps
reading the year the mirror holds."""

from __future__ import annotations

import datetime as dt
import logging

from altered_portal import Altered, mirror_rows
from mirrors import copy_mirror

from asurso_sync.demo import sync_simulator
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.schema import SYNCED_TABLES
from asurso_sync.simulator import make_app

AS_OF = dt.date(2026, 5, 20)


def snapshot(path) -> dict[str, list]:
    db = open_mirror(path)
    try:
        return {t: mirror_rows(db, t) for t in SYNCED_TABLES}
    finally:
        db.close()


def test_a_staff_account_switched_to_the_next_year_still_syncs_this_one(
    small_school, small_mirror, tmp_path
):
    app = make_app(small_school, as_of=AS_OF, quirks="year_switch")
    sync_simulator(tmp_path / "m.db", app=app, as_of=AS_OF)
    assert snapshot(tmp_path / "m.db") == snapshot(small_mirror)


def test_when_the_portal_moved_on_the_mirror_keeps_its_own_year(
    small_school, small_mirror, tmp_path, caplog
):
    path = copy_mirror(small_mirror, tmp_path)
    before = snapshot(path)

    def next_year(body, query):
        return {**body, "id": body["id"] + 1, "name": "2026/2027"}

    app = Altered(make_app(small_school, as_of=AS_OF), {"/webapi/years/current": next_year})
    with caplog.at_level(logging.WARNING, logger="asurso_sync.sync.fetch"):
        result = sync_simulator(path, app=app, as_of=AS_OF)
    assert app.hits["/webapi/years/current"] == 1
    assert result.skipped == []
    assert snapshot(path) == before
    assert [r.getMessage() for r in caplog.records if r.name == "asurso_sync.sync.fetch"] == [
        "the portal's current year is 2026/2027, this mirror holds 2025/2026: syncing "
        "2025/2026 (start a new mirror for the new year)"
    ]
