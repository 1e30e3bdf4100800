"""The sync's cost on the client (issue 14, goals 1–3), with the simulator in another process.

Serves `asurso-sync simulate --size SIZE` on 127.0.0.1 (a subprocess), then, each in a fresh
child process so that its CPU and peak memory are its own:

1. a full sync into an empty mirror: client CPU, wall time, peak RSS;
2. the same full sync again (nothing changed): client CPU;
3. the bare anchor: a script that `json.loads` the same answers (fetched beforehand, not
   timed) and `executemany`s the same rows into a fresh SQLite file — the least any client
   could spend. Steps 1 and 3 run alternately `--rounds` times (3): the CPU figures are
   their medians (a 2-core machine's state moves either by ±10 % from run to run), the peak
   RSS the highest of the rounds;
4. with `--latency-ms 50`: a full sync against a second simulator that waits 50 ms per request,
   beside the latency bound requests × latency / concurrency.

Each figure is printed beside its goal. Run (about 2–3 minutes for `school` on 2 cores):
    .venv/bin/python bench/bench_sync.py [--size school] [--latency-ms 50] [--skip-anchor]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from asurso_sync.config import PortalSettings
from asurso_sync.portal.client import password_hashes
from asurso_sync.sync import SyncOptions, sync_mirror

AS_OF = "2026-06-30"
YEAR_START = "2025"
GOALS = {"school": {"cpu": 8.0, "rss": 250.0, "resync": 5.0}, "large": {"rss": 400.0}}


# --- the simulator in its own process -------------------------------------------------------


def start_simulator(size: str, latency_ms: float) -> tuple[subprocess.Popen, str]:
    exe = [sys.executable, "-m", "asurso_sync", "simulate", "--size", size, "--port", "0"]
    exe += ["--as-of", AS_OF, "--year-start", YEAR_START, "--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(exe, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"at (http://\S+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return proc, match.group(1)


def admin_account(size: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "asurso_sync", "simulate", "--size", size, "--accounts"]
        + ["--as-of", AS_OF, "--year-start", YEAR_START],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(a for a in json.loads(out) if a["role"] == "admin")


# --- the child processes --------------------------------------------------------------------


def usage() -> tuple[float, float]:
    """(CPU seconds of this process so far, its peak RSS in MB since exec: VmHWM, as
    ru_maxrss would include the forked parent's)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    peak = ru.ru_maxrss / 1024
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return ru.ru_utime + ru.ru_stime, peak


def child_sync(url: str, db: str, account: dict[str, Any], concurrency: int) -> dict[str, Any]:
    settings = PortalSettings(
        base_url=url, school_id=account["school_id"], concurrency=concurrency, timeout_s=120.0
    )
    day = dt.date.fromisoformat(AS_OF)
    options = SyncOptions(full=True, today=day, now=dt.datetime(2026, 6, 30, 17, 0, tzinfo=dt.UTC))
    cpu0, _ = usage()
    t0 = time.perf_counter()
    result = sync_mirror(db, settings, account["login"], account["password"], options)
    wall = time.perf_counter() - t0
    cpu1, rss = usage()
    return {
        "cpu": cpu1 - cpu0,
        "wall": wall,
        "rss": rss,
        "requests": result.requests,
        "journals": result.journals,
        "rows": sum(c["fetched"] for c in result.counts.values()),
        "changed": sum(
            c["inserted"] + c["updated"] + c["deleted"] + c["restored"]
            for c in result.counts.values()
        ),
    }


def fetch_answers(url: str, account: dict[str, Any], folder: Path) -> int:
    """Every answer a full staff sync reads, saved raw into `folder` (not timed)."""
    client = httpx.Client(
        base_url=url, headers={"Referer": url + "/", "X-Requested-With": "XMLHttpRequest"}
    )
    client.get("/webapi/logindata")
    auth = client.post("/webapi/auth/getdata").json()
    pw, pw2 = password_hashes(account["password"], auth["salt"])
    form = {"loginType": 1, "scid": account["school_id"], "un": account["login"], "pw": pw}
    form.update(pw2=pw2, lt=auth["lt"], ver=auth["ver"])
    client.headers["at"] = at = client.post("/webapi/login", data=form).json()["at"]
    n = 0

    def keep(kind: str, body: bytes) -> None:
        nonlocal n
        n += 1
        (folder / f"{n:05d}.{kind}").write_bytes(body)

    year_answer = client.get("/webapi/years/current")
    keep("year", year_answer.content)
    year = year_answer.json()
    for path in ("terms", "subjects", "calendar/vacations", "grade/attendance/reasons"):
        keep(path.replace("/", "_"), client.get(f"/webapi/{path}").content)
    types = client.get("/webapi/grade/assignment/types", params={"all": "true"})
    keep("assignment_types", types.content)
    settings = client.get("/webapi/school/settings", params={"yearId": year["id"]})
    keep("settings", settings.content)
    keep("card", client.get(f"/webapi/schools/{account['school_id']}/card").content)
    classes = client.get("/webapi/classes", params={"expand": "chiefs"})
    keep("classes", classes.content)
    start = dt.date.fromisoformat(year["startDate"][:10])
    for cls in classes.json():
        cid = cls["id"]
        keep("students", client.get("/webapi/grade/studentList", params={"classId": cid}).content)
        groups = client.get(
            "/webapi/subjectgroups", params={"classId": cid, "expand": "teachers,terms"}
        )
        keep("groups", groups.content)
        for g in groups.json():
            plan = client.get("/webapi/subjectplans/getForSubjectGroup", params={"sgId": g["id"]})
            keep("plan", plan.content)
            for term in g["terms"]:
                params = {"yearId": year["id"], "classId": cid, "grade": -1, "sgId": g["id"]}
                page = client.get("/webapi/grade/journal", params={**params, "termId": term})
                keep("journal", page.content)
        report = client.post(
            "/asp/Reports/JournalAccess.asp",
            data={
                "AT": at,
                "VER": auth["ver"],
                "LoginType": "0",
                "RPTID": "JournalAccess",
                "PCLID": cid,
                "ADT": f"{start.day}.{start.month}.{start.year}",
                "DDT": "30.6.2026",
            },
        )
        keep("access", report.content)
    return n


ANCHOR_TABLES = {
    "lessons": 12,
    "assignments": 9,
    "marks": 8,
    "attendance": 5,
    "period_marks": 5,
    "sg_students": 2,
    "sg_term_students": 3,
    "plans": 5,
    "sg_terms": 2,
    "sg_teachers": 2,
    "teachers": 2,
    "class_teachers": 2,
    "plan_lessons": 8,
    "students": 7,
    "groups": 5,
    "classes": 5,
    "access": 6,
    "other": 3,
}
CELL = re.compile(rb"<td[^>]*>(.*?)</td>", re.S)


def child_anchor(folder: Path, db_path: str) -> dict[str, Any]:
    """json.loads every saved answer and executemany its rows — the rows the sync saves
    from it, row for row (narrower: no history columns) — into a fresh SQLite file."""
    files = sorted(folder.iterdir())
    cpu0, _ = usage()
    db = sqlite3.connect(db_path)
    for table, width in ANCHOR_TABLES.items():
        cols = ", ".join(f"c{i}" for i in range(width))
        db.execute(f"CREATE TABLE {table} ({cols})")
    rows = 0
    teachers: set[int] = set()  # a teacher is one row, however many groups name them

    def put(table: str, values: list[tuple]) -> None:
        nonlocal rows
        if values:
            marks = ", ".join("?" for _ in values[0])
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
            rows += len(values)

    for path in files:
        kind = path.suffix[1:]
        body = path.read_bytes()
        if kind == "access":
            cells = [c.strip() for c in CELL.findall(body)]
            # the header's cells are <th>: every <td> is a row's
            put("access", [tuple(cells[i : i + 4]) + (0, 0) for i in range(0, len(cells) - 3, 4)])
            continue
        data = json.loads(body)
        if kind == "journal":
            for j in data["journals"]:
                sg = j["subjectGroupId"]
                put("sg_students", [(sg, s["id"]) for s in j["students"]])
                put("sg_term_students", [(sg, 0, s["id"]) for s in j["students"]])
                put(
                    "lessons",
                    [
                        (cm["id"], sg, 0, 0, cm["date"][:10], cm.get("number"), cm.get("isTkr"))
                        + (cm.get("lessonId"), cm.get("lessonName"), None, None, None)
                        for cm in j["classMeeting"]
                    ],
                )
                put(
                    "assignments",
                    [
                        (a["id"], cm["id"], sg, a["typeId"], a["assignmentName"], a["weight"])
                        + (a["dueDate"][:10], a.get("createdDate"), a.get("createdDate"))
                        for cm in j["classMeeting"]
                        for a in cm.get("assignments") or []
                    ],
                )
                put(
                    "marks",
                    [
                        (m["assignmentId"], m["studentId"], 0, sg, m["mark"], m["mark"])
                        + (m["dutyMark"], m.get("date"))
                        for m in j["marks"]
                    ],
                )
                put(
                    "attendance",
                    [
                        (a["classmeetingId"], a["studentId"], sg, a["reason"], a.get("date"))
                        for a in j["attendance"]
                    ],
                )
                put(
                    "period_marks",
                    [
                        (sg, t["termId"], m["studentId"], m["mark"], m.get("date"))
                        for t in j["totals"]
                        for m in t["marks"]
                    ],
                )
        elif kind == "plan":
            if data["subjectPlanId"]:
                hours = sum(x["hours"] or 0 for x in data["lessons"])
                put("plans", [(0, data["subjectPlanId"], data.get("createdDate"), 0, hours)])
            put(
                "plan_lessons",
                [
                    (x["id"], 0, i, x["lessonName"], x["hours"], x.get("hoursStudied"))
                    + (x.get("lastStudyDay"), x.get("homeAssignment"))
                    for i, x in enumerate(data["lessons"])
                ],
            )
        elif kind == "students":
            put(
                "students",
                [
                    (s["id"], 0, s["fullName"], s.get("free"), s.get("individualEduc"))
                    + (s.get("addedDate"), s.get("healthGroupFilled"))
                    for s in data
                ],
            )
        elif kind == "groups":
            put("sg_terms", [(g["id"], term) for g in data for term in g["terms"]])
            put("sg_teachers", [(g["id"], t["id"]) for g in data for t in g["teachers"]])
            named = {t["id"]: t["name"] for g in data for t in g["teachers"]}
            put("teachers", [(t, name) for t, name in named.items() if t not in teachers])
            teachers.update(named)
            put(
                "groups",
                [
                    (g["id"], g["classId"], g["subjectId"], g.get("name"), g.get("hours"))
                    for g in data
                ],
            )
        elif kind == "classes":
            put("classes", [(c["id"], 0, c["name"], None, c.get("letter")) for c in data])
            put("class_teachers", [(c["id"], t["id"]) for c in data for t in c["chiefs"]])
        else:  # the year, the lists of terms, subjects, ..., the settings, the card
            items = data if isinstance(data, list) else [data]
            put("other", [(x.get("id"), kind, json.dumps(x)[:20]) for x in items])
    db.commit()
    db.close()
    cpu1, rss = usage()
    return {"cpu": cpu1 - cpu0, "rss": rss, "rows": rows, "answers": len(files)}


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"child {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_main(args: list[str]) -> None:
    kind = args[0]
    if kind == "sync":
        url, db, account, concurrency = args[1], args[2], json.loads(args[3]), int(args[4])
        print(json.dumps(child_sync(url, db, account, concurrency)))
    elif kind == "fetch":
        print(json.dumps({"answers": fetch_answers(args[1], json.loads(args[2]), Path(args[3]))}))
    elif kind == "anchor":
        print(json.dumps(child_anchor(Path(args[1]), args[2])))


def versus(value: float, goal: float | None, unit: str) -> str:
    if goal is None:
        return f"{value:.2f} {unit}"
    verdict = "meets" if value <= goal else "MISSES"
    return f"{value:.2f} {unit} (goal ≤ {goal:g} {unit}: {verdict})"


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median CPU (of an even number, the lower middle one)."""
    return sorted(runs, key=lambda run: run["cpu"])[(len(runs) - 1) // 2]


def spread(runs: list[dict[str, Any]], key: str) -> str:
    """ " (rounds: a–b)" beside a median of several rounds."""
    if len(runs) < 2:
        return ""
    values = sorted(run[key] for run in runs)
    return f" (median of {len(runs)}: {values[0]:.2f}–{values[-1]:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="school", choices=["small", "school", "large"])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="0: skip goal 3")
    parser.add_argument("--skip-anchor", action="store_true")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="full syncs and anchors, run alternately; the figures are their medians",
    )
    args = parser.parse_args()
    goals = GOALS.get(args.size, {})
    account = admin_account(args.size)
    print(f"size={args.size} concurrency={args.concurrency}; load: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        sim, url = start_simulator(args.size, 0)
        try:
            acc = json.dumps(account)
            answers = Path(folder) / "answers"
            if not args.skip_anchor:
                answers.mkdir()
                run_child("fetch", url, acc, str(answers))
            firsts: list[dict[str, Any]] = []
            anchors: list[dict[str, Any]] = []
            for n in range(max(1, args.rounds)):
                db = str(Path(folder) / f"asurso{n}.db")
                firsts.append(run_child("sync", url, db, acc, str(args.concurrency)))
                if not args.skip_anchor:
                    anchor_db = str(Path(folder) / f"anchor{n}.db")
                    anchors.append(run_child("anchor", str(answers), anchor_db))
            again = run_child("sync", url, db, acc, str(args.concurrency))
        finally:
            sim.terminate()
            sim.wait(10)
        first = median_run(firsts)
        print(
            f"1. full sync: {first['requests']} requests, {first['journals']} journals, "
            f"{first['rows']} rows, wall {first['wall']:.1f} s"
        )
        print(f"   client CPU {versus(first['cpu'], goals.get('cpu'), 's')}{spread(firsts, 'cpu')}")
        if anchors:
            anchor = median_run(anchors)
            ratio = first["cpu"] / anchor["cpu"]
            verdict = "meets" if ratio <= 3 else "MISSES"
            ratios = [f["cpu"] / a["cpu"] for f, a in zip(firsts, anchors, strict=True)]
            print(
                f"   anchor (json.loads + executemany of {anchor['answers']} answers, "
                f"{anchor['rows']} rows): {anchor['cpu']:.2f} s CPU{spread(anchors, 'cpu')}; "
                f"ratio {ratio:.2f}× (goal ≤ 3×: {verdict})"
                + (
                    f"; round by round {', '.join(f'{r:.2f}×' for r in ratios)}"
                    if len(ratios) > 1
                    else ""
                )
            )
        print(
            f"   unchanged re-sync: client CPU {versus(again['cpu'], goals.get('resync'), 's')}"
            f", {again['changed']} changes"
        )
        peak = max(run["rss"] for run in firsts)
        print(f"2. peak RSS of the full sync: {versus(peak, goals.get('rss'), 'MB')}")
        if args.latency_ms:
            sim, url = start_simulator(args.size, args.latency_ms)
            try:
                db = str(Path(folder) / "latency.db")
                slow = run_child("sync", url, db, json.dumps(account), str(args.concurrency))
            finally:
                sim.terminate()
                sim.wait(10)
            bound = slow["requests"] * args.latency_ms / 1000 / args.concurrency
            ratio = slow["wall"] / bound
            verdict = "meets" if ratio <= 1.3 else "MISSES"
            print(
                f"3. at {args.latency_ms:g} ms latency, concurrency {args.concurrency}: wall "
                f"{slow['wall']:.1f} s vs bound {bound:.1f} s ({slow['requests']} requests): "
                f"{ratio:.2f}× (goal ≤ 1.3×: {verdict}); client CPU {slow['cpu']:.1f} s"
            )
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()
