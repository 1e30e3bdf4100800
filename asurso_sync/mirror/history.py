"""Saving records into the mirror with history: first/last seen, `changes`, deletion marks.

`save_table` compares the rows a run fetched with what the mirror holds, inside the caller's
transaction: new rows are inserted (a `changes` row of kind `insert` unless the table was empty),
changed columns are updated (one `update` row per column, old and new value), rows missing from
the fetched *scope* are marked deleted (never dropped), and rows that came back are restored.
Entry-time columns follow `docs/design.md` (portal date, else observed/initial first-seen time).

`last_seen_at`/`last_seen_run` advance when a run compares the row; the sync does not compare
a scope whose answer is byte-for-byte (or record-for-record) the one it saved before — then
`sync_scope_digests.run_id` is the last run that saw the scope's rows unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlite_utils import Database

from asurso_sync.mirror.schema import ENTRY, HISTORY, SYNCED_TABLES

Row = dict[str, Any]
Scope = Callable[[Row], bool]


@dataclass(frozen=True)
class RunClock:
    """The times one run writes: UTC bookkeeping and school-local entry times."""

    run_id: int
    now_utc: str
    now_local: str
    prev_local: str | None  # school-local start of the last successful sync, None at first import

    @property
    def initial(self) -> bool:
        return self.prev_local is None


@dataclass
class TableStats:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    restored: int = 0
    unchanged: int = 0
    changes: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Plan:
    inserts: list[tuple] = field(default_factory=list)
    touches: list[tuple] = field(default_factory=list)  # (rowid, now, run)
    updates: list[tuple[str, list]] = field(default_factory=list)
    changes: list[tuple] = field(default_factory=list)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


_COLUMNS: dict[tuple[int, int, str], list[str]] = {}


def table_columns(db: Database, table: str) -> list[str]:
    """The table's columns (cached per connection and schema version: the sync asks for them
    once per scope)."""
    key = (id(db.conn), db.execute("PRAGMA schema_version").fetchone()[0], table)
    columns = _COLUMNS.get(key)
    if columns is None:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info([{table}])")]
        if len(_COLUMNS) > 1000:
            _COLUMNS.clear()
        _COLUMNS[key] = columns
    return columns


def save_table(
    db: Database,
    table: str,
    rows: Iterable[Row],
    clock: RunClock,
    *,
    scope: Scope | None = None,
    detect_deletions: bool = True,
) -> TableStats:
    """Apply the fetched `rows` of one table; rows outside `scope` are never marked deleted.

    `scope=None` means the run fetched the whole table. Call inside a transaction.
    """
    return save_rows(
        db,
        table,
        rows,
        clock,
        detect_deletions=detect_deletions,
        keep=scope,
        was_empty=None,
    )


def save_rows(
    db: Database,
    table: str,
    rows: Iterable[Row],
    clock: RunClock,
    *,
    where: str | None = None,
    params: Sequence[Any] = (),
    detect_deletions: bool = True,
    keep: Scope | None = None,
    was_empty: bool | None = None,
    seen: set[tuple] | None = None,
) -> TableStats:
    """Apply the fetched `rows` of one scope of `table`: the mirror's rows matching the SQL
    condition `where` (with `params`; None: the whole table), further narrowed by `keep`.

    Rows of the scope that were not fetched are marked deleted (when `detect_deletions`); a
    fetched row whose key the mirror holds outside the scope is found by its key and updated.
    `was_empty` says whether the table was empty when the run began (no `insert` change rows
    then; None: look now). The keys of the fetched rows are added to `seen`. Call inside a
    transaction.
    """
    pk = SYNCED_TABLES[table]
    columns = table_columns(db, table)
    has_entry = "entered_source" in columns
    data_cols = [c for c in columns if c not in HISTORY and not (has_entry and c in ENTRY)]
    read = [
        "_rowid",
        *data_cols,
        "deleted_at",
        *(("entered_at", "entered_source") if has_entry else ()),
    ]
    at = {c: i for i, c in enumerate(read)}
    key_of_record = _getter([at[k] for k in pk])
    data_of_record = itemgetter(*[at[c] for c in data_cols])
    data_of_row = itemgetter(*data_cols)
    key_of_row = itemgetter(*pk)
    deleted_i = at["deleted_at"]
    entered_i, source_i = (at["entered_at"], at["entered_source"]) if has_entry else (0, 0)
    sql = f"SELECT rowid, {', '.join(f'[{c}]' for c in read[1:])} FROM [{table}]"
    existing: dict[tuple, tuple] = {}
    for record in db.execute(sql + (f" WHERE {where}" if where else ""), list(params)):
        existing[key_of_record(record)] = record
    if was_empty is None:
        was_empty = not existing if where is None else _empty(db, table)
    fetched: dict[tuple, Row] = {}
    single = len(pk) == 1
    for row in rows:
        key = (key_of_row(row),) if single else key_of_row(row)
        if key not in fetched:
            fetched[key] = row
    if where is not None and not was_empty:
        missing = [k for k in fetched if k not in existing]
        if missing:
            for record in _by_keys(db, table, pk, sql, missing):
                existing[key_of_record(record)] = record
    stats = TableStats()
    plan = _Plan()
    for key, row in fetched.items():
        stats.fetched += 1
        record = existing.get(key)
        if record is None:
            _plan_insert(plan, table, row, key, data_cols, has_entry, clock, was_empty, stats)
            continue
        try:
            same = data_of_row(row) == data_of_record(record)
        except KeyError:  # a row that leaves columns out: compare column by column
            same = False
        if (
            same
            and record[deleted_i] is None
            and not (
                has_entry
                and row.get("entered_at")
                and (row["entered_at"] != record[entered_i] or record[source_i] != "portal")
            )
        ):
            plan.touches.append((record[0], clock.now_utc, clock.run_id))
            stats.unchanged += 1
            continue
        old = dict(zip(read, record, strict=True))
        _plan_update(plan, table, row, old, key, data_cols, has_entry, clock, stats)
    if seen is not None:
        seen.update(fetched)
    if detect_deletions:
        for key, gone in existing.items():
            if key in fetched or gone[deleted_i] is not None:
                continue
            if keep is not None and not keep(dict(zip(read, gone, strict=True))):
                continue
            _plan_delete(plan, table, key, gone[0], clock, stats)
    _write(db, table, data_cols, has_entry, plan)
    stats.changes = len(plan.changes)
    return stats


def mark_missing(
    db: Database,
    table: str,
    seen: set[tuple],
    clock: RunClock,
    *,
    where: str,
    params: Sequence[Any] = (),
) -> TableStats:
    """Mark deleted the live rows matching `where` whose key is not in `seen` (for tables that
    several answers fill, after all of them were saved)."""
    pk = SYNCED_TABLES[table]
    names = ", ".join(f"[{k}]" for k in pk)
    stats = TableStats()
    plan = _Plan()
    for rowid, *key in db.execute(
        f"SELECT rowid, {names} FROM [{table}] WHERE deleted_at IS NULL AND ({where})",
        list(params),
    ).fetchall():
        if tuple(key) not in seen:
            _plan_delete(plan, table, tuple(key), rowid, clock, stats)
    _write(db, table, [], False, plan)
    stats.changes = len(plan.changes)
    return stats


def _empty(db: Database, table: str) -> bool:
    return db.execute(f"SELECT 1 FROM [{table}] LIMIT 1").fetchone() is None


def _getter(indexes: list[int]) -> Callable[[Sequence[Any]], tuple]:
    """A function taking those items of a sequence, always as a tuple."""
    if len(indexes) == 1:
        (i,) = indexes
        return lambda seq: (seq[i],)
    return itemgetter(*indexes)


def _by_keys(
    db: Database, table: str, pk: tuple[str, ...], sql: str, keys: list[tuple]
) -> Iterator[tuple]:
    """The mirror's rows with these keys (wherever they are), in chunks of one query each."""
    if len(pk) == 1:
        cond = f"[{pk[0]}] IN (SELECT value FROM json_each(?))"
    else:
        parts = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(pk)))
        cond = f"({', '.join(f'[{k}]' for k in pk)}) IN (SELECT {parts} FROM json_each(?))"
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        values = [k[0] for k in chunk] if len(pk) == 1 else [list(k) for k in chunk]
        yield from db.execute(f"{sql} WHERE {cond}", [json.dumps(values)])


def _plan_delete(
    plan: _Plan, table: str, key: tuple, rowid: int, clock: RunClock, stats: TableStats
) -> None:
    stats.deleted += 1
    plan.updates.append(("deleted_at = ?, deleted_run = ?", [clock.now_utc, clock.run_id, rowid]))
    plan.changes.append(_change(clock, table, key, "delete", None, None, None))


def _plan_insert(
    plan: _Plan,
    table: str,
    row: Row,
    key: tuple,
    data_cols: list[str],
    has_entry: bool,
    clock: RunClock,
    was_empty: bool,
    stats: TableStats,
) -> None:
    values = list(map(row.get, data_cols))
    values += [clock.now_utc, clock.now_utc, clock.run_id, clock.run_id, None, None]
    if has_entry:
        portal_time = row.get("entered_at")
        if portal_time:
            values += [portal_time, "portal"]
        else:
            values += [clock.now_local, "initial" if clock.initial else "observed"]
        values.append(clock.prev_local)
    plan.inserts.append(tuple(values))
    stats.inserted += 1
    if not was_empty:
        plan.changes.append(_change(clock, table, key, "insert", None, None, None))


def _plan_update(
    plan: _Plan,
    table: str,
    row: Row,
    old: Row,
    key: tuple,
    data_cols: list[str],
    has_entry: bool,
    clock: RunClock,
    stats: TableStats,
) -> None:
    diffs = {c: row.get(c) for c in data_cols if c in row and row.get(c) != old[c]}
    if (
        has_entry
        and row.get("entered_at")
        and (row["entered_at"] != old["entered_at"] or old["entered_source"] != "portal")
    ):
        diffs["entered_at"] = row["entered_at"]
    sets = ["last_seen_at = ?", "last_seen_run = ?"]
    params: list[Any] = [clock.now_utc, clock.run_id]
    restored = old["deleted_at"] is not None
    if not diffs and not restored:
        plan.touches.append((old["_rowid"], clock.now_utc, clock.run_id))
        stats.unchanged += 1
        return
    if restored:
        sets += ["deleted_at = NULL", "deleted_run = NULL"]
        plan.changes.append(_change(clock, table, key, "restore", None, None, None))
        stats.restored += 1
        if has_entry and not row.get("entered_at"):
            # Deleted and entered again: a new entry, seen now (not its first sighting).
            sets += ["entered_at = ?", "entered_source = 'observed'", "last_absent_at = ?"]
            params += [clock.now_local, clock.prev_local]
    for column, value in diffs.items():
        sets.append(f"[{column}] = ?")
        params.append(value)
        plan.changes.append(_change(clock, table, key, "update", column, old[column], value))
    if "entered_at" in diffs:
        sets.append("entered_source = 'portal'")
    if diffs:
        stats.updated += 1
    plan.updates.append((", ".join(sets), [*params, old["_rowid"]]))


def _change(
    clock: RunClock, table: str, key: tuple, kind: str, column: str | None, old: Any, new: Any
) -> tuple:
    return (
        clock.run_id,
        clock.now_utc,
        table,
        json.dumps(list(key), ensure_ascii=False),
        kind,
        column,
        _text(old),
        _text(new),
    )


def _write(db: Database, table: str, data_cols: list[str], has_entry: bool, plan: _Plan) -> None:
    conn = db.conn
    if plan.inserts:
        names = [
            *data_cols,
            "first_seen_at",
            "last_seen_at",
            "first_seen_run",
            "last_seen_run",
            "deleted_at",
            "deleted_run",
        ]
        if has_entry:
            names += ["entered_at", "entered_source", "last_absent_at"]
        sql = (
            f"INSERT INTO [{table}] ({', '.join(f'[{n}]' for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        conn.executemany(sql, plan.inserts)
    if plan.touches:
        # One UPDATE over the rowids as a JSON list: much faster than one statement per row.
        _, now_utc, run_id = plan.touches[0]
        conn.execute(
            f"UPDATE [{table}] SET last_seen_at = ?, last_seen_run = ? "
            "WHERE rowid IN (SELECT value FROM json_each(?))",
            [now_utc, run_id, json.dumps([t[0] for t in plan.touches])],
        )
    for sets, params in plan.updates:
        conn.execute(f"UPDATE [{table}] SET {sets} WHERE rowid = ?", params)
    if plan.changes:
        conn.executemany(
            "INSERT INTO changes (run_id, seen_at, table_name, row_key, kind, column_name, "
            "old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            plan.changes,
        )
