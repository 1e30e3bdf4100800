"""Time a full sync of the `school`-size simulator in process; prints requests/s and rows/s.

Run: .venv/bin/python bench/bench_sync.py [--size school] [--concurrency 4] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from asurso_sync.config import PortalSettings
from asurso_sync.simulator import build_school, make_app
from asurso_sync.demo import sync_simulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="school")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--as-of", default="2026-06-30")
    args = parser.parse_args()
    as_of = dt.date.fromisoformat(args.as_of)
    t0 = time.perf_counter()
    school = build_school(size=args.size, seed=1, year_start=2025)
    built = time.perf_counter() - t0
    app = make_app(school, as_of=as_of, latency_ms=args.latency_ms)
    settings = PortalSettings(
        base_url="http://simulator.test", concurrency=args.concurrency, timeout_s=60.0
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "asurso.db"
        t1 = time.perf_counter()
        first = sync_simulator(path, app=app, as_of=as_of, settings=settings)
        full = time.perf_counter() - t1
        t2 = time.perf_counter()
        second = sync_simulator(path, app=app, as_of=as_of, settings=settings)
        again = time.perf_counter() - t2
        size_mb = path.stat().st_size / 1e6
    rows = sum(c["fetched"] for c in first.counts.values())
    print(f"size={args.size} concurrency={args.concurrency} latency_ms={args.latency_ms}")
    print(f"build_school: {built:.2f} s")
    print(
        f"full sync (empty mirror): {full:.2f} s, {first.requests} requests "
        f"({first.requests / full:.0f} req/s), {first.journals} journals, {rows} rows "
        f"({rows / full:.0f} rows/s), mirror {size_mb:.1f} MB"
    )
    print(
        f"  of which fetch {first.fetch_seconds:.2f} s, save (one transaction) "
        f"{first.save_seconds:.2f} s"
    )
    print(
        f"full sync again (no changes): {again:.2f} s, {second.requests} requests "
        f"({second.requests / again:.0f} req/s); fetch {second.fetch_seconds:.2f} s, "
        f"save {second.save_seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
