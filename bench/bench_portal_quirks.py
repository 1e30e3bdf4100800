"""Issue 11 "Done when" at full size: a full sync of `school` under every real variant at once
(`quirks="all"`) against a plain one — the same mirror row for row (the journal access report
aside: its real layout reports other facts) and the same findings.

Run from the repository root: `.venv/bin/python bench/bench_portal_quirks.py` (about 1–2 min)."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mirror_compare import findings, mirror_rows  # noqa: E402

from asurso_sync.demo import sync_simulator  # noqa: E402
from asurso_sync.simulator import build_school, make_app  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def main() -> int:
    school = build_school(size="school", seed=1, year_start=2025)
    folder = Path(tempfile.mkdtemp())
    started = time.monotonic()
    sync_simulator(folder / "plain.db", app=make_app(school, as_of=AS_OF), as_of=AS_OF)
    plain_s = time.monotonic() - started
    started = time.monotonic()
    sync_simulator(
        folder / "quirky.db", app=make_app(school, as_of=AS_OF, quirks="all"), as_of=AS_OF
    )
    quirky_s = time.monotonic() - started
    want, got = mirror_rows(folder / "plain.db"), mirror_rows(folder / "quirky.db")
    differ = [t for t in want if want[t] != got[t] and t != "journal_access"]
    same_findings = findings(folder / "plain.db", AS_OF) == findings(folder / "quirky.db", AS_OF)
    rows = sum(len(r) for r in want.values())
    print(f"plain sync {plain_s:.1f} s, sync under quirks=all {quirky_s:.1f} s")
    print(
        f"{rows} rows compared; tables that differ: {differ or 'none'}; same findings: {same_findings}"
    )
    return 0 if not differ and same_findings else 1


if __name__ == "__main__":
    raise SystemExit(main())
