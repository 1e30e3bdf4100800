"""A slow or hostile portal cannot hang the night or eat the memory (issue 12, item 6): every
request has a total deadline, the run has one, and an answer is read only up to
`[portal] max_answer_mb` — streamed, never held whole."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

import pytest

from asurso_sync.config import PortalSettings
from asurso_sync.errors import PortalError
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.schema import SYNCED_TABLES
from asurso_sync.simulator import make_app, serve
from asurso_sync.sync import SyncOptions, sync_mirror

AS_OF = dt.date(2026, 5, 20)
EVENING = dt.datetime.combine(AS_OF, dt.time(21, 0), ZoneInfo("Europe/Samara"))


class DrippingServer:
    """Answers every request on 127.0.0.1 with headers, then one byte every `every` seconds
    (at most `limit` bytes, so a test can never hang on it)."""

    def __init__(self, every: float = 0.3, limit: int = 100) -> None:
        self.every, self.limit = every, limit
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\n\r\n"
                )
                for _ in range(self.limit):
                    conn.sendall(b" ")
                    time.sleep(self.every)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


def test_a_server_dripping_bytes_meets_the_request_deadline(tmp_path):
    server = DrippingServer(every=0.3)
    settings = PortalSettings(base_url=server.url, school_id=1, timeout_s=1.0, max_retries=1)
    options = SyncOptions(today=AS_OF, now=EVENING, request_deadline_s=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(PortalError) as info:
            sync_mirror(tmp_path / "m.db", settings, "x", "y", options, backoff_s=0.01)
    finally:
        server.close()
    assert time.monotonic() - started < 5
    assert str(info.value) == (
        "the request to logindata did not finish within 1 s after 2 attempts "
        f"([sync] request_deadline_s); is {server.url} reachable?"
    )
    assert server.connections == 2
    db = open_mirror(tmp_path / "m.db")
    assert list(db.query("SELECT status, error FROM sync_runs")) == [
        {"status": "failed", "error": str(info.value)}
    ]


def test_the_run_deadline_stops_a_slow_run_and_saves_nothing(small_school, tmp_path):
    app = make_app(small_school, as_of=AS_OF, latency_ms=40)
    account = next(a for a in app.accounts if a["role"] == "admin")
    server = serve(app, host="127.0.0.1", port=0)
    settings = PortalSettings(base_url=server.url, school_id=account["school_id"])
    options = SyncOptions(full=True, today=AS_OF, now=EVENING, run_deadline_s=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(PortalError) as info:
            sync_mirror(tmp_path / "m.db", settings, account["login"], account["password"], options)
    finally:
        server.shutdown()
    assert time.monotonic() - started < 5
    assert str(info.value) == (
        "the sync did not finish within [sync] run_deadline_s = 1 s; nothing was saved — "
        "is the portal unusually slow?"
    )
    db = open_mirror(tmp_path / "m.db")
    assert all(db.table(t).count == 0 for t in SYNCED_TABLES)
    assert [r["status"] for r in db.query("SELECT status FROM sync_runs")] == ["failed"]


HUGE = """
import datetime as dt, json, sys
from zoneinfo import ZoneInfo
from asurso_sync.config import PortalSettings
from asurso_sync.sync import SyncOptions, sync_mirror

def peak_mb():
    # VmHWM: this process's own peak since exec (ru_maxrss would include the forked parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

url, db, login, password, school_id = sys.argv[1:6]
settings = PortalSettings(base_url=url, school_id=int(school_id))
now = dt.datetime(2026, 5, 20, 21, 0, tzinfo=ZoneInfo("Europe/Samara"))
result = sync_mirror(db, settings, login, password,
                     SyncOptions(since=dt.date(2026, 5, 1), today=now.date(), now=now))
print(json.dumps({
    "rss_mb": peak_mb(),
    "status": result.status,
    "skipped": [(s.endpoint, s.scope, s.error) for s in result.skipped],
}))
"""
MB = 1024 * 1024


class HugeJournal:
    """The simulator, except that one subject group's journal answers 500 MB, made as it is
    sent (never held): `sent` counts the megabytes that went out."""

    def __init__(self, app, sg_id: int) -> None:
        self.app, self.sg_id, self.sent = app, sg_id, 0
        self.accounts = app.accounts

    def __call__(self, environ, start_response):
        query = environ.get("QUERY_STRING", "") + "&"
        if environ["PATH_INFO"] != "/webapi/grade/journal" or f"sgId={self.sg_id}&" not in query:
            return self.app(environ, start_response)
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(500 * MB))]
        )
        return self.body()

    def body(self):
        yield b'{"journals": ['
        for _ in range(500):
            self.sent += 1
            yield b" " * MB


@pytest.mark.slow
def test_a_500_mb_answer_is_cut_off_and_the_sync_stays_under_300_mb(small_school, tmp_path):
    """The sync runs in a child process of its own (its peak RSS is its own); the portal, here."""
    portal = HugeJournal(make_app(small_school, as_of=AS_OF), sg_id=1201)
    account = next(a for a in portal.accounts if a["role"] == "admin")
    server = serve(portal, host="127.0.0.1", port=0)
    try:
        out = subprocess.run(
            [sys.executable, "-c", HUGE, server.url, str(tmp_path / "m.db")]
            + [account["login"], account["password"], str(account["school_id"])],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["rss_mb"] < 300, got
    assert got["status"] == "partial"
    assert got["skipped"] == [
        [
            "grade/journal",
            {"subject_group_id": 1201, "term_id": got["skipped"][0][1]["term_id"]},
            "the portal's answer to grade/journal is larger than 100 MB ([portal] "
            "max_answer_mb); stopped reading it",
        ]
    ]
    assert portal.sent < 500
