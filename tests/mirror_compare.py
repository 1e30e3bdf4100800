"""Comparing two mirrors (tests/test_portal_quirks.py, bench/bench_portal_quirks.py): a
mirror's rows without the history columns, and a mirror's findings."""

from __future__ import annotations

import datetime as dt

from asurso_sync.config import Config
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.schema import HISTORY, SYNCED_TABLES
from asurso_sync.rules import load_rule_settings
from asurso_sync.rules.engine import evaluate


def mirror_rows(path) -> dict[str, list[tuple]]:
    db = open_mirror(path)
    out = {}
    try:
        for table, key in SYNCED_TABLES.items():
            columns = [c for c in db.table(table).columns_dict if c not in HISTORY]
            order = ", ".join(key)
            out[table] = [
                tuple(r)
                for r in db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
            ]
    finally:
        db.close()
    return out


def findings(path, as_of: dt.date) -> list[tuple]:
    db = open_mirror(path)
    try:
        result = evaluate(db, load_rule_settings(Config()), as_of, None)
    finally:
        db.close()
    return sorted(
        (
            f.rule,
            str(getattr(f, "key", "")),
            getattr(f, "lesson_id", None),
            getattr(f, "student_id", None),
        )
        for f in result.findings
    )
