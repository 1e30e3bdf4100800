"""The whole demo (every class's documents as PDF/A and the sealed year): wall and CPU per step.

The end-to-end test runs `demo --classes 5а` (one class's documents); the whole school's PDF
work is measured here. Usage:
    .venv/bin/python bench/bench_demo.py [--size small|school] [--classes 5а ...]
Prints the figures; exits 0 either way (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from asurso_sync import demo


def children_cpu() -> float:
    """CPU seconds of this process and of the render pool's children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(name: str, func, figures: list[tuple[str, float, float]]):
    def step(ctx: demo.DemoContext) -> None:
        wall, cpu = time.perf_counter(), children_cpu()
        func(ctx)
        figures.append((name, time.perf_counter() - wall, children_cpu() - cpu))

    return name, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="small", choices=["small", "school", "large"])
    parser.add_argument("--classes", nargs="*", default=[])
    args = parser.parse_args()
    figures: list[tuple[str, float, float]] = []
    steps = [timed(name, func, figures) for name, func in demo.STEPS]
    with tempfile.TemporaryDirectory() as folder:
        start, cpu = time.perf_counter(), children_cpu()
        ctx = demo.run_demo(
            Path(folder) / "demo", args.size, steps=steps, classes=tuple(args.classes)
        )
        total, total_cpu = time.perf_counter() - start, children_cpu() - cpu
    for line in ctx.lines:
        print(line)
    print(f"\n{'step':<10} {'wall s':>8} {'CPU s':>8}")
    for name, wall, used in figures:
        print(f"{name:<10} {wall:8.1f} {used:8.1f}")
    print(f"{'total':<10} {total:8.1f} {total_cpu:8.1f}")
    with open("/proc/loadavg", encoding="ascii") as fh:
        print(f"load average: {fh.read().split()[0]}")


if __name__ == "__main__":
    main()
