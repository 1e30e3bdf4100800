"""Time every page of the web page on the `school` mirror (goal: each < 200 ms on 2 cores).

    .venv/bin/python bench/bench_web.py [--size school] [--mirror PATH | --keep DIR] [--repeat 15]

Builds the simulated school (seed 1, year 2025/26), syncs it in full as of 2026-06-30 and runs
the checks (not timed), makes an admin's and a teacher's account, then requests each page
through httpx.ASGITransport (in process: the server's own work, no network) `--repeat` times
and prints the median and slowest wall time and the median CPU time (the process's, the view
runs in a worker thread), with the load average: on a shared machine wall time grows with the
load. Pages that start background work are not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from asurso_sync.config import Config
from asurso_sync.demo import sync_simulator
from asurso_sync.mirror.db import open_mirror
from asurso_sync.rules import check, parse_rule_settings
from asurso_sync.simulator import build_school
from asurso_sync.web import make_app, web_settings
from asurso_sync.web.accounts import add_user, open_accounts

AS_OF = dt.date(2026, 6, 30)
GOAL_MS = 200
PASSWORD = "bench password 1"


def build_mirror(size: str, folder: Path) -> Path:
    started = time.perf_counter()
    path = folder / "asurso.db"
    sync_simulator(path, build_school(size=size, seed=1, year_start=2025), AS_OF, full=True)
    db = open_mirror(path)
    check(db, parse_rule_settings({}), AS_OF)
    db.close()
    print(
        f"[{size}] setup (generate, sync, check; not timed): {time.perf_counter() - started:.1f} s"
    )
    return path


async def bench(mirror: Path, repeat: int) -> dict[str, list[float]]:
    folder = mirror.parent
    settings = web_settings(
        Config(), mirror=mirror, archive=folder / "archive_store", documents=folder / "reports"
    )
    db = open_mirror(mirror)
    teacher_id, busiest = db.execute(
        "SELECT teacher_id, count(*) FROM violations GROUP BY teacher_id ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    class_id = db.execute("SELECT min(id) FROM classes").fetchone()[0]
    print(f"violations: {db.table('violations').count}; busiest teacher has {busiest}")
    db.close()
    accounts = open_accounts(settings.accounts_path)
    for login, role, tid in (("admin", "admin", None), ("teacher", "teacher", teacher_id)):
        if not accounts.execute("SELECT 1 FROM users WHERE login = ?", [login]).fetchone():
            add_user(accounts, login, role, PASSWORD, teacher_id=tid)
    accounts.close()
    app = make_app(settings)
    pages = {
        "admin": [
            "/summary",
            "/remarks",
            f"/remarks?teacher={teacher_id}",
            "/remarks?status=open&page=3",
            f"/remarks?class={class_id}&period=term2",
            "/remarks?rule=R06&period=2026-03",
            "/documents",
            "/archive",
            "/state",
        ],
        "teacher": ["/remarks"],
    }
    times: dict[str, list[float]] = {}
    transport = httpx.ASGITransport(app=app)
    for login, paths in pages.items():
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            form = await client.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]  # type: ignore[index]
            await client.post("/login", data={"csrf": token, "login": login, "password": PASSWORD})
            for path in paths:
                key = f"{login} {path}"
                for _ in range(repeat):
                    started, cpu = time.perf_counter(), time.process_time()
                    r = await client.get(path)
                    times.setdefault(key, []).append(1000 * (time.perf_counter() - started))
                    times.setdefault(f"{key} cpu", []).append(1000 * (time.process_time() - cpu))
                    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    app.state.jobs.shutdown()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="school")
    parser.add_argument("--mirror", type=Path, help="An existing mirror (checked) to use.")
    parser.add_argument("--keep", type=Path, help="Build the mirror in this folder and keep it.")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        mirror = args.mirror or build_mirror(args.size, args.keep or Path(tmp))
        times = asyncio.run(bench(mirror, args.repeat))
    worst = 0.0
    print(f"load average {os.getloadavg()[0]:.1f} (wall times grow with it; CPU times do not)")
    for key, values in times.items():
        if key.endswith(" cpu"):
            continue
        median = statistics.median(values)
        cpu = statistics.median(times[f"{key} cpu"])
        worst = max(worst, median)
        flag = "" if median < GOAL_MS else f"  <-- over {GOAL_MS} ms"
        print(
            f"{key:<42} wall median {median:6.1f} ms, max {max(values):6.1f} ms; "
            f"CPU {cpu:5.1f} ms{flag}"
        )
    print(f"slowest median {worst:.1f} ms (goal < {GOAL_MS} ms)")


if __name__ == "__main__":
    main()
