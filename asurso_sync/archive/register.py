"""The fixity register: an append-only SQLite log of what happened to each bag.

It lives beside the bags (`<store>/register.sqlite`, mode 0600) and never inside one, so a
bag stays sealed while its history grows. Triggers refuse UPDATE and DELETE: a row, once
written, is evidence (PREMIS-style events: ingest, fixity_fast, fixity_full, copy,
restore_test, destroy). Destruction acts are kept here too, equally append-only.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import sqlite3
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

EVENTS = ("ingest", "fixity_fast", "fixity_full", "copy", "restore_test", "destroy")
REGISTER_NAME = "register.sqlite"
FULL_CHECK_DAYS = 90

_SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        event TEXT NOT NULL CHECK (event IN ({", ".join(repr(e) for e in EVENTS)})),
        bag TEXT NOT NULL,
        location TEXT NOT NULL,
        result TEXT NOT NULL CHECK (result IN ('ok', 'failed')),
        details TEXT NOT NULL DEFAULT '{{}}',
        os_user TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS events_bag ON events (bag, event)",
    """CREATE TABLE IF NOT EXISTS acts (
        number TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        on_date TEXT NOT NULL,
        bags TEXT NOT NULL,
        os_user TEXT NOT NULL
    )""",
]
for _table in ("events", "acts"):
    for _op in ("UPDATE", "DELETE"):
        _SCHEMA.append(
            f"CREATE TRIGGER IF NOT EXISTS {_table}_no_{_op.lower()} BEFORE {_op} ON {_table} "
            f"BEGIN SELECT RAISE(ABORT, '{_table} is append-only'); END"
        )


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def os_user() -> str:
    """Who ran the command, for the record (never a secret)."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in a container
        return str(os.getuid())


def open_register(store: Path) -> sqlite3.Connection:
    """The store's register, created with mode 0600 on first use."""
    store.mkdir(parents=True, exist_ok=True)
    path = store / REGISTER_NAME
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    with conn:
        for statement in _SCHEMA:
            conn.execute(statement)
    return conn


def log_event(
    conn: sqlite3.Connection,
    event: str,
    bag: str,
    location: str | Path,
    ok: bool,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one event; returns its id."""
    if event not in EVENTS:
        raise ValueError(f"unknown register event {event!r}")
    with conn:
        cur = conn.execute(
            "INSERT INTO events (at, event, bag, location, result, details, os_user) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                utc_now(),
                event,
                bag,
                str(location),
                "ok" if ok else "failed",
                json.dumps(details or {}, ensure_ascii=False, sort_keys=True),
                os_user(),
            ),
        )
    return int(cur.lastrowid or 0)


def events(conn: sqlite3.Connection, bag: str | None = None) -> list[dict[str, Any]]:
    """Every event (of one bag), oldest first, details decoded."""
    sql = "SELECT * FROM events" + (" WHERE bag = ?" if bag else "") + " ORDER BY id"
    rows = conn.execute(sql, (bag,) if bag else ()).fetchall()
    return [{**dict(r), "details": json.loads(r["details"])} for r in rows]


def ingest_digest(conn: sqlite3.Connection, bag: str) -> str | None:
    """The SHA-512 of the bag's tagmanifest-sha512.txt recorded when it entered the store."""
    row = conn.execute(
        "SELECT details FROM events WHERE bag = ? AND event = 'ingest' AND result = 'ok' "
        "ORDER BY id LIMIT 1",
        (bag,),
    ).fetchone()
    return json.loads(row["details"]).get("tagmanifest_sha512") if row else None


def last_event(
    conn: sqlite3.Connection,
    bag: str,
    kinds: Iterable[str] = ("ingest", "fixity_fast", "fixity_full"),
) -> dict | None:
    kinds = tuple(kinds)
    row = conn.execute(
        f"SELECT * FROM events WHERE bag = ? AND event IN ({','.join('?' * len(kinds))}) "
        "ORDER BY id DESC LIMIT 1",
        (bag, *kinds),
    ).fetchone()
    return {**dict(row), "details": json.loads(row["details"])} if row else None


def save_act(conn: sqlite3.Connection, number: str, on_date: date, bags: list[str]) -> None:
    with conn:
        conn.execute(
            "INSERT INTO acts (number, created_at, on_date, bags, os_user) VALUES (?, ?, ?, ?, ?)",
            (number, utc_now(), on_date.isoformat(), json.dumps(bags), os_user()),
        )


def get_act(conn: sqlite3.Connection, number: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM acts WHERE number = ?", (number,)).fetchone()
    return {**dict(row), "bags": json.loads(row["bags"])} if row else None


def next_act_number(conn: sqlite3.Connection) -> str:
    numbers = [int(r[0]) for r in conn.execute("SELECT number FROM acts") if str(r[0]).isdigit()]
    return str(max(numbers, default=0) + 1)


def _last_full_check(conn: sqlite3.Connection, bag: str) -> date | None:
    """Date of the last full re-hash of the bag (ingest validates every hash too)."""
    row = conn.execute(
        "SELECT max(at) FROM events WHERE bag = ? AND event IN ('ingest', 'fixity_full')",
        (bag,),
    ).fetchone()
    return datetime.fromisoformat(row[0]).date() if row and row[0] else None


def plan_full_checks(
    register: sqlite3.Connection | Path,
    bags: Iterable[str],
    today: date,
    per_run: int | None = None,
    *,
    interval_days: int = FULL_CHECK_DAYS,
    run_every_days: int = 7,
) -> list[str]:
    """Which bags to re-hash fully in this (weekly) run, oldest full check first.

    Guarantee: called every `run_every_days` with the result verified, every bag gets a full
    check at least every `interval_days` (3 months). The plan takes

    * every bag never fully checked, or whose last full check would be older than
      `interval_days` before the next run (these are never dropped, whatever `per_run` says);
    * then the least recently checked others until the run holds `per_run` bags
      (default: a 1/12 share of all bags, so the load spreads evenly over ~12 weeks).

    `register` is the store folder's register connection or the store path itself.
    """
    conn = open_register(register) if isinstance(register, Path) else register
    bags = list(dict.fromkeys(bags))
    if per_run is None:
        per_run = math.ceil(len(bags) / max(1, interval_days // run_every_days - 1))
    horizon = today + timedelta(days=run_every_days)
    last = {bag: _last_full_check(conn, bag) for bag in bags}
    order = sorted(bags, key=lambda b: (last[b] is not None, last[b] or date.min, b))
    must = [
        b for b in order if last[b] is None or last[b] + timedelta(days=interval_days) <= horizon
    ]
    rest = [b for b in order if b not in must]
    return must + rest[: max(0, per_run - len(must))]
