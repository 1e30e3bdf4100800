"""The fixity register: an append-only, hash-chained SQLite log of what happened to each bag.

It lives beside the bags (`<store>/register.sqlite`, mode 0600) and never inside one, so a
bag stays sealed while its history grows. A row, once written, is evidence (PREMIS-style
events: ingest, fixity checks, copies, restore drills, destruction acts and destruction).

Two guards keep it honest:

* triggers refuse UPDATE and DELETE;
* each event carries the hash of the one before it (`prev_hash`) and its own (`hash`, over
  the previous hash and every field of the row), so an edit made after dropping the
  triggers breaks the chain. `check_chain` re-computes it on every `archive verify`; the
  chain head (the last hash) is printed on D10 and on every destruction act, so a paper copy
  anchors the register as it was that day.

The ingest record is the authority for a bag's retention (`retain_until`): bag-info.txt is
a copy for people and tools, never read to decide a destruction.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import math
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EVENTS = (
    "ingest",
    "ingest_cancelled",
    "fixity_fast",
    "fixity_full",
    "copy",
    "restore_test",
    "act_draft",
    "act_approve",
    "destroy",
    "register_check",
)
CHECKS = ("ingest", "fixity_fast", "fixity_full", "copy")
REGISTER_NAME = "register.sqlite"
FULL_CHECK_DAYS = 90
GENESIS = "0" * 64
VERSION = 1
_TRIGGERS = [f"{t}_no_{op}" for t in ("events", "acts") for op in ("update", "delete")]
_FIELDS = ("id", "at", "event", "bag", "location", "result", "details", "os_user")

_EVENTS_TABLE = f"""CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ({", ".join(repr(e) for e in EVENTS)})),
    bag TEXT NOT NULL,
    location TEXT NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('ok', 'failed')),
    details TEXT NOT NULL DEFAULT '{{}}',
    os_user TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
)"""
_SCHEMA = [
    _EVENTS_TABLE,
    "CREATE INDEX IF NOT EXISTS events_bag ON events (bag, event)",
    """CREATE TABLE IF NOT EXISTS acts (
        number TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        on_date TEXT NOT NULL,
        bags TEXT NOT NULL,
        os_user TEXT NOT NULL
    )""",
]
_TRIGGER_SQL = [
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END"
    for t in ("events", "acts")
    for op in ("UPDATE", "DELETE")
]


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def os_user() -> str:
    """Who ran the command, for the record (never a secret)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in a container
        return str(os.getuid())


def event_hash(prev: str, row: dict[str, Any] | sqlite3.Row) -> str:
    """SHA-256 over the previous hash and every field of the event, in a fixed order."""
    fields = [row[name] for name in _FIELDS]
    text = json.dumps([prev, *fields], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _table_sql(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (name,))
    found = row.fetchone()
    return str(found[0]) if found else None


def _migrate_v0(conn: sqlite3.Connection) -> None:
    """A register of the first release (no hashes, fewer event kinds): rebuild `events`
    with the chain computed over the rows as they are now (SQLite cannot alter a CHECK)."""
    conn.execute("ALTER TABLE events RENAME TO events_v0")
    for name in ("events_no_update", "events_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("DROP INDEX IF EXISTS events_bag")
    conn.execute(_EVENTS_TABLE)
    prev = GENESIS
    for row in conn.execute("SELECT * FROM events_v0 ORDER BY id").fetchall():
        item = dict(row)
        digest = event_hash(prev, item)
        conn.execute(
            "INSERT INTO events (id, at, event, bag, location, result, details, os_user, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*[item[f] for f in _FIELDS], prev, digest),
        )
        prev = digest
    conn.execute("DROP TABLE events_v0")
    log.warning("the archive register was upgraded: its events are now hash-chained")


def open_register(store: Path) -> sqlite3.Connection:
    """The store's register, created with mode 0600 on first use.

    Triggers found missing in an existing register are put back, and that they were gone
    is itself recorded (a failed `register_check` event), so the next `verify` says so.
    """
    store.mkdir(parents=True, exist_ok=True)
    path = store / REGISTER_NAME
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        existing = _table_sql(conn, "events")
        if existing is not None and version < VERSION:
            _migrate_v0(conn)
        present = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
        missing = [t for t in _TRIGGERS if t not in present] if version >= VERSION else []
        for statement in _SCHEMA + _TRIGGER_SQL:
            conn.execute(statement)
        if version != VERSION:
            conn.execute(f"PRAGMA user_version = {VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        raise
    conn.isolation_level = "DEFERRED"  # back to the default: `with conn` commits
    if missing:
        log.error("the archive register's triggers %s were missing", ", ".join(missing))
        log_event(
            conn,
            "register_check",
            "",
            store,
            False,
            {"problem": "append-only triggers were missing: " + ", ".join(missing)},
        )
    return conn


def log_event(
    conn: sqlite3.Connection,
    event: str,
    bag: str,
    location: str | Path,
    ok: bool,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one event, chained to the last one; returns its id."""
    if event not in EVENTS:
        raise ValueError(f"unknown register event {event!r}")
    conn.execute("BEGIN IMMEDIATE")  # one writer: ids and the chain stay in order
    try:
        last = conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
        row = {
            "id": (last["id"] + 1) if last else 1,
            "at": utc_now(),
            "event": event,
            "bag": bag,
            "location": str(location),
            "result": "ok" if ok else "failed",
            "details": json.dumps(details or {}, ensure_ascii=False, sort_keys=True),
            "os_user": os_user(),
        }
        prev = last["hash"] if last else GENESIS
        conn.execute(
            "INSERT INTO events (id, at, event, bag, location, result, details, os_user, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*[row[f] for f in _FIELDS], prev, event_hash(prev, row)),
        )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return int(row["id"])


# ---------------------------------------------------------------- the chain


@dataclass
class ChainCheck:
    """The result of re-computing the register's hash chain."""

    events: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_chain(conn: sqlite3.Connection) -> ChainCheck:
    """Re-compute every event's hash from the first; name the first event that breaks."""
    result = ChainCheck()
    prev = GENESIS
    expected_id = 1
    for row in conn.execute("SELECT * FROM events ORDER BY id"):
        result.events += 1
        if row["id"] != expected_id:
            result.problems.append(
                f"register event {expected_id} is missing (the next one is {row['id']})"
            )
        if row["prev_hash"] != prev:
            result.problems.append(
                f"register event {row['id']} does not follow the one before it "
                "(an event was removed or changed)"
            )
        digest = event_hash(row["prev_hash"], row)
        if digest != row["hash"]:
            result.problems.append(f"register event {row['id']} was changed after it was written")
        if row["event"] == "register_check" and row["result"] == "failed":
            problem = json.loads(row["details"]).get("problem", "")
            result.problems.append(f"on {row['at'][:10]} {problem}")
        prev = row["hash"]
        expected_id = row["id"] + 1
        if len(result.problems) > 20:
            break
    result.head = prev
    return result


def chain_head(conn: sqlite3.Connection) -> str:
    """The hash of the last event (what the paper copies print)."""
    row = conn.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    return str(row[0]) if row else GENESIS


# ---------------------------------------------------------------- reading events


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    return {**dict(row), "details": json.loads(row["details"])}


def events(conn: sqlite3.Connection, bag: str | None = None) -> list[dict[str, Any]]:
    """Every event (of one bag), oldest first, details decoded."""
    sql = "SELECT * FROM events" + (" WHERE bag = ?" if bag else "") + " ORDER BY id"
    rows = conn.execute(sql, (bag,) if bag else ()).fetchall()
    return [_decode(r) for r in rows]


def ingest_record(conn: sqlite3.Connection, bag: str) -> dict[str, Any] | None:
    """The bag's standing ingest event: the last `ingest` not cancelled afterwards."""
    row = conn.execute(
        "SELECT * FROM events WHERE bag = ? AND event IN ('ingest', 'ingest_cancelled') "
        "AND result = 'ok' ORDER BY id DESC LIMIT 1",
        (bag,),
    ).fetchone()
    return _decode(row) if row and row["event"] == "ingest" else None


def ingest_records(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """{bag: standing ingest event} of every bag the register knows."""
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(
        "SELECT * FROM events WHERE event IN ('ingest', 'ingest_cancelled') AND result = 'ok' "
        "ORDER BY id"
    ):
        if row["event"] == "ingest":
            out[row["bag"]] = _decode(row)
        else:
            out.pop(row["bag"], None)
    return out


def ingest_digest(conn: sqlite3.Connection, bag: str) -> str | None:
    """The SHA-512 of the bag's tagmanifest-sha512.txt recorded when it entered the store."""
    record = ingest_record(conn, bag)
    return record["details"].get("tagmanifest_sha512") if record else None


def retention_of(record: dict[str, Any] | None) -> date | None:
    """The first day a bag may be destroyed, from its ingest record (None: never)."""
    value = (record or {}).get("details", {}).get("retain_until")
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def destroyed(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """{bag: its `destroy` event}."""
    rows = conn.execute("SELECT * FROM events WHERE event = 'destroy' AND result = 'ok'")
    return {r["bag"]: _decode(r) for r in rows}


_STORE_ONLY = "json_extract(details, '$.medium') IS NULL"


def last_event(
    conn: sqlite3.Connection,
    bag: str,
    kinds: Iterable[str] = ("ingest", "fixity_fast", "fixity_full"),
    *,
    medium: str | Path | None = None,
) -> dict[str, Any] | None:
    """The bag's last event of these kinds in the store (events at a medium carry
    `"medium": true` in their details), or, given `medium`, at that medium."""
    kinds = tuple(kinds)
    sql = f"SELECT * FROM events WHERE bag = ? AND event IN ({','.join('?' * len(kinds))})"
    params: list[Any] = [bag, *kinds]
    if medium is None:
        sql += f" AND {_STORE_ONLY}"
    else:
        sql += " AND json_extract(details, '$.medium') IS NOT NULL AND location = ?"
        params.append(str(medium))
    row = conn.execute(sql + " ORDER BY id DESC LIMIT 1", params).fetchone()
    return _decode(row) if row else None


def media(conn: sqlite3.Connection, bag: str) -> list[str]:
    """Every medium outside the store where the bag was copied or checked, first seen first."""
    rows = conn.execute(
        f"SELECT location, min(id) AS first FROM events WHERE bag = ? "
        f"AND event IN ({','.join('?' * len(CHECKS))}) "
        "AND json_extract(details, '$.medium') IS NOT NULL GROUP BY location ORDER BY first",
        (bag, *CHECKS),
    )
    return [r["location"] for r in rows]


# ---------------------------------------------------------------- destruction acts


def save_act(conn: sqlite3.Connection, number: str, on_date: date, bags: list[str]) -> None:
    with conn:
        conn.execute(
            "INSERT INTO acts (number, created_at, on_date, bags, os_user) VALUES (?, ?, ?, ?, ?)",
            (number, utc_now(), on_date.isoformat(), json.dumps(bags), os_user()),
        )


def get_act(conn: sqlite3.Connection, number: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM acts WHERE number = ?", (number,)).fetchone()
    return {**dict(row), "bags": json.loads(row["bags"])} if row else None


def act_events(conn: sqlite3.Connection, number: str, event: str) -> list[dict[str, Any]]:
    """The chained `act_draft` / `act_approve` events of one act (one per bag)."""
    rows = conn.execute(
        "SELECT * FROM events WHERE event = ? AND result = 'ok' "
        "AND json_extract(details, '$.act') = ? ORDER BY id",
        (event, str(number)),
    )
    return [_decode(r) for r in rows]


def next_act_number(conn: sqlite3.Connection) -> str:
    numbers = [int(r[0]) for r in conn.execute("SELECT number FROM acts") if str(r[0]).isdigit()]
    return str(max(numbers, default=0) + 1)


# ---------------------------------------------------------------- planning full checks


def _last_full_checks(conn: sqlite3.Connection) -> dict[str, date]:
    """{bag: date of its last full re-hash in the store} (ingest validates every hash too)."""
    rows = conn.execute(
        "SELECT bag, max(at) FROM events WHERE event IN ('ingest', 'fixity_full') "
        f"AND {_STORE_ONLY} GROUP BY bag"
    )
    return {r[0]: datetime.fromisoformat(r[1]).date() for r in rows if r[1]}


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

    `register` is the store folder's register connection or the store path itself. Only
    checks of the store count: a copy's check never stands for the store's.
    """
    conn = open_register(register) if isinstance(register, Path) else register
    names = list(dict.fromkeys(bags))
    if per_run is None:
        per_run = math.ceil(len(names) / max(1, interval_days // run_every_days - 1))
    horizon = today + timedelta(days=run_every_days)
    checked = _last_full_checks(conn)
    last = {bag: checked.get(bag) for bag in names}

    def order_key(b: str) -> tuple[bool, date, str]:
        return (last[b] is not None, last[b] or date.min, b)

    order = sorted(names, key=order_key)
    must = []
    for b in order:
        seen = last[b]
        if seen is None or seen + timedelta(days=interval_days) <= horizon:
            must.append(b)
    rest = [b for b in order if b not in must]
    return must + rest[: max(0, per_run - len(must))]
