"""Time all rules over a full-year mirror of the simulator (goals: school < 5 s, large < 15 s).

    .venv/bin/python bench/bench_rules.py [--size school large] [--mirror PATH] [--keep DIR]

Builds the simulated school (seed 1, year 2025/26), syncs it in full as of 2026-06-30 (that
setup is not timed), then times `evaluate` (the rules alone) and `check` (rules + recording
the lifecycle, twice: the first check inserts every violation, the second updates them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections import Counter
from pathlib import Path

AS_OF = dt.date(2026, 6, 30)
GOALS = {"small": 2.0, "school": 5.0, "large": 15.0}


def build_mirror(size: str, folder: Path) -> Path:
    from asurso_sync.demo import sync_simulator
    from asurso_sync.simulator import build_school

    started = time.perf_counter()
    school = build_school(size=size, seed=1, year_start=2025)
    path = folder / f"{size}.db"
    sync_simulator(path, school, AS_OF, full=True)
    print(
        f"[{size}] setup (generate + full sync, not timed): {time.perf_counter() - started:.1f} s"
    )
    return path


def bench(size: str, path: Path) -> None:
    from asurso_sync.mirror.db import open_mirror
    from asurso_sync.rules import RULES, check, evaluate, parse_rule_settings

    settings = parse_rule_settings({})
    db = open_mirror(path)
    rows = {
        t: db[t].count
        for t in (
            "lessons",
            "assignments",
            "marks",
            "attendance",
            "period_marks",
            "plan_lessons",
            "students",
        )
    }
    print(f"[{size}] mirror rows: " + ", ".join(f"{t} {n}" for t, n in rows.items()))
    per_rule = {}
    for rule in RULES:
        started = time.perf_counter()
        evaluate(db, settings, AS_OF, [rule.id])
        per_rule[rule.id] = time.perf_counter() - started
    started = time.perf_counter()
    result = evaluate(db, settings, AS_OF)
    all_rules = time.perf_counter() - started
    started = time.perf_counter()
    check(db, settings, AS_OF)
    first = time.perf_counter() - started
    started = time.perf_counter()
    check(db, settings, AS_OF)
    second = time.perf_counter() - started
    slowest = sorted(per_rule.items(), key=lambda kv: -kv[1])[:5]
    counts = Counter(f.rule for f in result.findings)
    goal = GOALS.get(size)
    verdict = ""
    if goal is not None:
        verdict = f" (goal < {goal:.0f} s: {'met' if all_rules < goal else 'MISSED'})"
    print(
        f"[{size}] all rules (evaluate): {all_rules:.2f} s{verdict}; "
        f"{len(result.findings)} findings"
    )
    print(f"[{size}] check + record: first {first:.2f} s, second {second:.2f} s")
    print(f"[{size}] slowest rules: " + ", ".join(f"{r} {t:.2f} s" for r, t in slowest))
    print(
        f"[{size}] findings per rule: " + ", ".join(f"{r} {n}" for r, n in sorted(counts.items()))
    )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", nargs="+", default=["school", "large"], choices=["small", "school", "large"]
    )
    parser.add_argument("--mirror", type=Path, help="time this mirror instead of building one")
    parser.add_argument("--keep", type=Path, help="build the mirrors in this folder and keep them")
    args = parser.parse_args()
    if args.mirror:
        bench(args.mirror.stem, args.mirror)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.size:
            existing = folder / f"{size}.db"
            path = existing if existing.exists() else build_mirror(size, folder)
            bench(size, path)


if __name__ == "__main__":
    main()
