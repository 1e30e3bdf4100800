"""Time to render D7 (the class journal, PDF/A) for every class of the `school` simulator.

Goal: < 120 s on 2 cores with a process pool of 2. Usage:
    .venv/bin/python bench/bench_documents.py [--size school] [--workers 2] [--mirror PATH]
Prints the figures; exits 0 either way (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def build_mirror(size: str, folder: Path) -> Path:
    from asurso_sync.demo import sync_simulator
    from asurso_sync.simulator import build_school

    path = folder / "asurso.db"
    school = build_school(size=size, seed=1, year_start=2025)
    sync_simulator(path, school, dt.date(2026, 6, 30), full=True)
    return path


def render_class(args: tuple[str, str, str]) -> tuple[str, float, float, int]:
    """One class's D7: wall and CPU seconds (CPU is what a busy machine cannot inflate)."""
    mirror, class_name, out = args
    from pypdf import PdfReader

    from asurso_sync.documents import render

    start, cpu = time.perf_counter(), time.process_time()
    paths = render(mirror, "D7", out, fmt="pdf", class_name=class_name)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    pdf = next(p for p in paths if p.suffix == ".pdf")
    return class_name, took, cpu, len(PdfReader(pdf).pages)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="school")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mirror", help="an already synced mirror (skips the sync)")
    parser.add_argument("--classes", type=int, default=0, help="only the first N classes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        mirror = Path(args.mirror) if args.mirror else build_mirror(args.size, folder)
        sync_s = time.perf_counter() - t0
        from sqlite_utils import Database

        names = [
            r[0]
            for r in Database(mirror).execute(
                "SELECT name FROM classes WHERE deleted_at IS NULL "
                "ORDER BY CAST(grade AS INTEGER), letter"
            )
        ]
        if args.classes:
            names = names[: args.classes]
        jobs = [(str(mirror), n, str(folder / "out")) for n in names]
        t1 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(render_class, jobs))
        total = time.perf_counter() - t1
    pages = sum(r[3] for r in results)
    cpu = sum(r[2] for r in results)
    print(
        f"size={args.size} classes={len(results)} workers={args.workers} "
        f"cpus={os.cpu_count()} (sync {sync_s:.1f} s, not counted)"
    )
    for name, took, used, n in results:
        print(f"  {name:>4}: {took:6.1f} s wall {used:6.1f} s CPU  {n:4d} pages")
    print(
        f"D7 PDF/A for every class: {total:.1f} s wall, {pages} pages, "
        f"{pages / total:.1f} pages/s (goal < 120 s)"
    )
    print(
        f"CPU {cpu:.1f} s in all, {cpu / pages:.3f} s a page; on {args.workers} idle cores "
        f"≈ {cpu / args.workers:.1f} s wall (what the goal means on a busy machine)"
    )


if __name__ == "__main__":
    main()
