"""Full-verify rate of a sealed bag beside plain `sha512sum` over the same files, same run.

    .venv/bin/python bench/bench_archive.py [--mb 256] [--files 200]

Goal (brief, issue 6): `archive verify --full` ≥ 70 % of sha512sum's MB/s. Our verify reads each
file once with a 1 MiB buffer and feeds SHA-512 and SHA-256 from the same buffer. The page
cache is warmed first so both sides measure hashing, not the disk. bagit-python's own
`validate()` is timed too, for reference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import bagit

from asurso_sync.archive.fixity import verify_bag


def build_bag(root: Path, total_mb: int, files: int) -> Path:
    """A bag shaped like a year: one big database copy plus many small PDFs/CSVs."""
    bag = root / "ej-1-2025-2026-journal-v1"
    (bag / "db").mkdir(parents=True)
    big = total_mb * 1024 * 1024 * 3 // 4
    with open(bag / "db" / "mirror.sqlite", "wb") as fh:
        for _ in range(big // (1 << 20)):
            fh.write(os.urandom(1 << 20))
    small = (total_mb * 1024 * 1024 - big) // files
    for i in range(files):
        folder = bag / "print" / f"c{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc{i:04d}.pdf").write_bytes(os.urandom(small))
    bagit.make_bag(str(bag), {"Source-Organization": "bench"}, checksums=["sha512", "sha256"])
    return bag


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    try:
        bag = build_bag(root, args.mb, args.files)
        payload = sorted(str(p) for p in (bag / "data").rglob("*") if p.is_file())
        size = sum(os.path.getsize(p) for p in payload) / 1e6

        def sha512sum() -> None:
            for i in range(0, len(payload), 500):
                subprocess.run(
                    ["sha512sum", *payload[i : i + 500]], check=True, stdout=subprocess.DEVNULL
                )

        def ours() -> None:
            result = verify_bag(bag, full=True)
            assert result.ok, result.problems

        sha512sum()  # warm the page cache
        t_sum = best_of(args.runs, sha512sum)
        t_ours = best_of(args.runs, ours)
        t_bagit = best_of(1, lambda: bagit.Bag(str(bag)).validate())
        print(f"payload: {size:.0f} MB in {len(payload)} files, cpus: {os.cpu_count()}")
        print(f"sha512sum (SHA-512 only):        {size / t_sum:8.0f} MB/s  ({t_sum:.2f} s)")
        print(
            f"archive verify --full (512+256): {size / t_ours:8.0f} MB/s  ({t_ours:.2f} s)  "
            f"= {100 * t_sum / t_ours:.0f}% of sha512sum (goal >= 70%)"
        )
        print(f"bagit Bag.validate() (512+256):  {size / t_bagit:8.0f} MB/s  ({t_bagit:.2f} s)")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
