"""A sync killed with SIGKILL at any point leaves an intact mirror with the previous content;
the next sync completes and marks the killed run failed. A second concurrent sync is refused."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from test_sync_simulator import content

from asurso_sync.demo import sync_simulator
from asurso_sync.errors import SyncLocked
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.lock import SyncLock
from asurso_sync.mirror.runs import INTERRUPTED
from asurso_sync.simulator import make_app, serve

CHILD = """
import datetime as dt, sys
from zoneinfo import ZoneInfo
from asurso_sync.config import PortalSettings
from asurso_sync.log import configure_logging
from asurso_sync.sync import SyncOptions, sync_mirror
configure_logging(1)
url, db, login, password, school_id = sys.argv[1:6]
settings = PortalSettings(base_url=url, school_id=int(school_id), concurrency=4)
day = dt.date(2026, 5, 20)
now = dt.datetime.combine(day, dt.time(21, 0), ZoneInfo("Europe/Samara"))
sync_mirror(db, settings, login, password, SyncOptions(full=True, today=day, now=now))
"""


def start_child(server, app, path) -> subprocess.Popen:
    account = next(a for a in app.accounts if a["role"] == "admin")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            server.url,
            str(path),
            account["login"],
            account["password"],
            str(account["school_id"]),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def kill_when(child: subprocess.Popen, marker: str | None, delay: float) -> bool:
    """SIGKILL the child `delay` s after it logs `marker` (or after start); False if it ended."""
    if marker is not None:
        for line in child.stderr:
            if marker in line:
                break
        else:
            return False
    time.sleep(delay)
    if child.poll() is not None:
        return False
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    return True


def killed_sync(server, app, path, marker: str | None, delay: float) -> bool:
    """Start a sync into `path` and SIGKILL it (`kill_when`); False if it ended first."""
    child = start_child(server, app, path)
    try:
        return kill_when(child, marker, delay)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        child.stderr.close()


@pytest.fixture(scope="module")
def first_mirror(small_school, tmp_path_factory):
    """A mirror synced as of 6 May: the content every killed run must leave untouched."""
    path = tmp_path_factory.mktemp("first") / "asurso.db"
    sync_simulator(path, small_school, dt.date(2026, 5, 6))
    db = open_mirror(path)
    before = content(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path, before


@pytest.fixture(scope="module")
def served_app(small_school):
    app = make_app(small_school, as_of=dt.date(2026, 5, 20), latency_ms=1)
    server = serve(app, host="127.0.0.1", port=0)
    yield app, server
    server.shutdown()


@pytest.mark.parametrize(
    "marker,delay",
    [
        (None, 0.05),
        ("logged in", 0.0),
        ("discovered", 0.2),
        ("saving", 0.0),
        ("saving", 0.05),
        ("saving", 0.15),
    ],
)
def test_sigkill_at_any_point_leaves_the_previous_mirror(
    marker, delay, served_app, first_mirror, small_school, tmp_path
):
    app, server = served_app
    first, before = first_mirror
    path = tmp_path / "asurso.db"
    shutil.copyfile(first, path)
    assert killed_sync(server, app, path, marker, delay), "the sync ended before the kill"
    db = open_mirror(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    runs = list(db.query("SELECT id, status FROM sync_runs ORDER BY id"))
    assert [r["status"] for r in runs] == (["ok"] if marker is None else ["ok", "running"])
    assert content(db) == before
    db.close()
    result = sync_simulator(path, small_school, dt.date(2026, 5, 20))
    db = open_mirror(path)
    statuses = [r["status"] for r in db.query("SELECT status FROM sync_runs ORDER BY id")]
    assert statuses[-1] == "ok" and "running" not in statuses
    if marker is not None:
        assert db["sync_runs"].get(runs[-1]["id"])["error"] == INTERRUPTED
    assert result.run_id == runs[-1]["id"] + 1


def test_a_second_concurrent_sync_is_refused(small_school, tmp_path):
    path = tmp_path / "asurso.db"
    with SyncLock(path), pytest.raises(SyncLocked) as info:
        sync_simulator(path, small_school, dt.date(2026, 5, 20))
    assert str(info.value).startswith(
        f"another sync is already running on this mirror (pid {os.getpid()}, started "
    )
    assert not path.exists() or open_mirror(path)["sync_runs"].count == 0


@pytest.mark.parametrize("delay", [0.0, 0.1])
def test_sigkill_during_a_first_import_leaves_an_empty_mirror_that_syncs_again(
    delay, served_app, small_school, small_mirror, tmp_path
):
    """A first import writes through the rollback journal: killed half-way, the journal it
    leaves undoes it at the next open, the mirror is empty and a WAL mirror again, and the
    next sync imports everything."""
    app, server = served_app
    path = tmp_path / "asurso.db"
    assert killed_sync(server, app, path, "saving", delay), "the sync ended before the kill"
    db = open_mirror(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert [r["status"] for r in db.query("SELECT status FROM sync_runs")] == ["running"]
    assert all(not rows for rows in content(db).values())
    db.close()
    assert not (tmp_path / "asurso.db-journal").exists()
    sync_simulator(path, small_school, dt.date(2026, 5, 20))
    assert content(open_mirror(path)) == content(open_mirror(small_mirror))
