"""Simulator figures: generation time per size, ground-truth time, journal requests per second.

Run: .venv/bin/python bench/bench_simulator.py [small|school|large ...]
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import time

import httpx

from asurso_sync.simulator import build_school, ground_truth, make_app

AS_OF = dt.date(2026, 5, 20)


def bench(size: str) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    school = build_school(size=size, seed=1, year_start=2025)
    gen, gen_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    truth = ground_truth(school, as_of=AS_OF)
    tt = time.perf_counter() - t0
    app = make_app(school, as_of=AS_OF)
    acc = next(a for a in app.accounts if a["role"] == "admin")
    headers = {"Referer": "http://sim/"}
    with httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://sim", headers=headers
    ) as c:
        c.get("/webapi/logindata")
        auth = c.post("/webapi/auth/getdata").json()
        inner = hashlib.md5(acc["password"].encode("cp1251")).hexdigest()
        pw2 = hashlib.md5((auth["salt"] + inner).encode()).hexdigest()
        form = {
            "loginType": 1,
            "scid": 107,
            "un": acc["login"],
            "pw": pw2[: len(acc["password"])],
            "pw2": pw2,
            "lt": auth["lt"],
            "ver": auth["ver"],
        }
        c.headers["at"] = c.post("/webapi/login", data=form).json()["at"]
        groups = sorted(school.groups)[:200]
        t0 = time.perf_counter()
        size_bytes = 0
        for sg in groups:
            for term in (26901, 26902, 26903, 26904):
                size_bytes += len(
                    c.get("/webapi/grade/journal", params={"sgId": sg, "termId": term}).content
                )
        jt = time.perf_counter() - t0
    n = len(groups) * 4
    print(
        f"{size:>6}: generate {gen:5.2f} s (cpu {gen_cpu:5.2f} s) | classes {len(school.classes)} pupils {len(school.students)} "
        f"staff {len(school.staff)} groups {len(school.groups)} lessons {len(school.lessons)} "
        f"marks {len(school.marks)} | truth {tt:5.2f} s ({len(truth['violations'])} items) | "
        f"journal {n / jt:6.0f} req/s, {size_bytes / n / 1024:.0f} KiB avg"
    )


if __name__ == "__main__":
    for size in sys.argv[1:] or ["small", "school", "large"]:
        bench(size)
