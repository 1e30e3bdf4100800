"""The fixity register is append-only; the full-check plan covers every bag within 3 months."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest

from asurso_sync.archive.register import (
    check_chain,
    events,
    log_event,
    open_register,
    plan_full_checks,
    save_act,
)


def test_register_file_is_private_and_refuses_update_and_delete(tmp_path):
    conn = open_register(tmp_path)
    log_event(conn, "ingest", "ej-1-2025-2026-journal-v1", tmp_path, True, {"a": 1})
    save_act(conn, "1", date(2032, 1, 1), ["ej-1-2025-2026-journal-v1"])
    assert (tmp_path / "register.sqlite").stat().st_mode & 0o777 == 0o600
    for sql in (
        "UPDATE events SET result = 'failed'",
        "DELETE FROM events",
        "UPDATE acts SET bags = '[]'",
        "DELETE FROM acts",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), conn:
            conn.execute(sql)
    rows = events(conn)
    assert [
        (r["id"], r["event"], r["bag"], r["location"], r["result"], r["details"]) for r in rows
    ] == [(1, "ingest", "ej-1-2025-2026-journal-v1", str(tmp_path), "ok", {"a": 1})]
    assert [tuple(r) for r in conn.execute("SELECT number, on_date, bags FROM acts")] == [
        ("1", "2032-01-01", '["ej-1-2025-2026-journal-v1"]')
    ]


def test_register_refuses_unknown_events(tmp_path):
    conn = open_register(tmp_path)
    with pytest.raises(ValueError, match="unknown register event"):
        log_event(conn, "rewrite", "b", tmp_path, True)
    with pytest.raises(sqlite3.IntegrityError), conn:
        conn.execute(
            "INSERT INTO events (at, event, bag, location, result, os_user, prev_hash, hash) "
            "VALUES ('x', 'rewrite', 'b', 'l', 'ok', 'u', '-', '-')"
        )


def _log_at(conn, bag, day, event="fixity_full"):
    """A back-dated event (the plan only reads dates; the chain is not checked here)."""
    with conn:
        conn.execute(
            "INSERT INTO events (at, event, bag, location, result, details, os_user, "
            "prev_hash, hash) VALUES (?, ?, ?, 'store', 'ok', '{}', 'test', '-', '-')",
            (f"{day.isoformat()}T02:00:00+00:00", event, bag),
        )


def test_plan_takes_never_checked_and_overdue_first_then_the_oldest(tmp_path):
    conn = open_register(tmp_path)
    today = date(2030, 3, 4)
    _log_at(conn, "a", today - timedelta(days=10))
    _log_at(conn, "b", today - timedelta(days=85))  # 90 days reached before next week's run
    _log_at(conn, "c", today - timedelta(days=30))
    _log_at(conn, "d", today - timedelta(days=60), "ingest")
    _log_at(conn, "d", today - timedelta(days=1), "fixity_fast")  # fast checks do not count
    assert plan_full_checks(conn, ["a", "b", "c", "d", "e"], today, per_run=1) == ["e", "b"]
    assert plan_full_checks(conn, ["a", "b", "c", "d", "e"], today, per_run=4) == [
        "e",
        "b",
        "d",
        "c",
    ]
    assert plan_full_checks(conn, ["a", "c"], today, per_run=0) == []


def test_weekly_plan_checks_every_bag_within_three_months(tmp_path):
    """Simulate a year of weekly runs over 40 bags with the default share."""
    conn = open_register(tmp_path)
    bags = [f"bag-{i:02d}" for i in range(40)]
    start = date(2030, 1, 7)
    for bag in bags:
        _log_at(conn, bag, start - timedelta(days=int(bag[-2:]) % 5))
    for week in range(52):
        today = start + timedelta(weeks=week)
        for bag in plan_full_checks(conn, bags, today):
            _log_at(conn, bag, today)
    for bag in bags:
        days = sorted(
            date.fromisoformat(r[0][:10])
            for r in conn.execute("SELECT at FROM events WHERE bag = ?", (bag,))
        )
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        assert max(gaps) <= 90, (bag, gaps)
        assert len(days) >= 5


def test_a_first_release_register_is_chained_on_open_and_keeps_its_rows(tmp_path):
    conn = sqlite3.connect(tmp_path / "register.sqlite")
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL "
        "CHECK (event IN ('ingest', 'fixity_fast', 'fixity_full', 'copy', 'restore_test', "
        "'destroy')), bag TEXT NOT NULL, location TEXT NOT NULL, result TEXT NOT NULL, "
        "details TEXT NOT NULL DEFAULT '{}', os_user TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events is append-only'); END"
    )
    conn.execute(
        "INSERT INTO events VALUES (1, '2026-06-30T10:00:00+00:00', 'ingest', "
        "'ej-1-2025-2026-journal-v1', '/s', 'ok', '{\"retain_until\": \"2032-01-01\"}', 'u')"
    )
    conn.commit()
    conn.close()
    register = open_register(tmp_path)
    assert check_chain(register).ok
    log_event(register, "act_draft", "ej-1-2025-2026-journal-v1", tmp_path, True, {"act": "1"})
    rows = [(e["id"], e["event"], e["details"]) for e in events(register)]
    assert rows == [
        (1, "ingest", {"retain_until": "2032-01-01"}),
        (2, "act_draft", {"act": "1"}),
    ]
    chain = check_chain(register)
    assert (chain.ok, chain.events, chain.head) == (True, 2, events(register)[-1]["hash"])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), register:
        register.execute("DELETE FROM events")
