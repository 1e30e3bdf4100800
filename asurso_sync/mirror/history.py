"""Saving records into the mirror with history: first/last seen, `changes`, deletion marks.

`save_table` compares the rows a run fetched with what the mirror holds, inside the caller's
transaction: new rows are inserted (a `changes` row of kind `insert` unless the table was empty),
changed columns are updated (one `update` row per column, old and new value), rows missing from
the fetched *scope* are marked deleted (never dropped), and rows that came back are restored.
Entry-time columns follow `docs/design.md` (portal date, else observed/initial first-seen time).

`last_seen_at`/`last_seen_run` advance when a run compares the row; the sync does not compare
a scope whose answer is byte-for-byte (or record-for-record) the one it saved before — then
`sync_scope_digests.run_id` is the last run that saw the scope's rows unchanged.

Saving is most of a first sync's local work (hundreds of thousands of new rows), so new rows
take a short path: a scope the mirror holds nothing of is inserted without comparing row by
row, and an INSERT binds only the portal's columns — the history columns, the same for every
row of a run, are constants of the statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import contains, itemgetter
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

    def add(self, other: TableStats) -> None:
        self.fetched += other.fetched
        self.inserted += other.inserted
        self.updated += other.updated
        self.deleted += other.deleted
        self.restored += other.restored
        self.unchanged += other.unchanged
        self.changes += other.changes


@dataclass
class _Plan:
    inserts: list[Row] = field(default_factory=list)
    touches: list[int] = field(default_factory=list)  # rowids seen again
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


@dataclass(frozen=True)
class _Shape:
    """What saving into one table needs of its columns, worked out once per schema."""

    table: str
    pk: tuple[str, ...]
    data_cols: tuple[str, ...]
    has_entry: bool
    read: tuple[str, ...]  # what `select` reads: rowid, data, deleted_at, entry time, last run
    select: str
    key_of_record: Callable[[Sequence[Any]], tuple]
    data_of_record: Callable[[Sequence[Any]], Any]
    key_of_row: Callable[[Row], Any]  # a tuple, or for a one-column key its value
    data_of_row: Callable[[Row], Any]
    deleted_i: int
    entered_i: int
    source_i: int
    seen_i: int


_SHAPES: dict[tuple[int, int, str], _Shape] = {}


def schema_version(db: Database) -> int:
    """The mirror's schema version (`save_rows` takes it from a caller whose schema cannot
    change meanwhile, instead of asking SQLite on every call)."""
    return int(db.conn.execute("PRAGMA schema_version").fetchone()[0])


def _shape(db: Database, table: str, version: int | None = None) -> _Shape:
    key = (id(db.conn), schema_version(db) if version is None else version, table)
    shape = _SHAPES.get(key)
    if shape is None:
        if len(_SHAPES) > 1000:
            _SHAPES.clear()
        shape = _SHAPES[key] = _make_shape(db, table)
    return shape


def _make_shape(db: Database, table: str) -> _Shape:
    pk = SYNCED_TABLES[table]
    columns = table_columns(db, table)
    has_entry = "entered_source" in columns
    data_cols = tuple(c for c in columns if c not in HISTORY and not (has_entry and c in ENTRY))
    read = (
        "_rowid",
        *data_cols,
        "deleted_at",
        *(("entered_at", "entered_source") if has_entry else ()),
        "last_seen_run",
    )
    at = {c: i for i, c in enumerate(read)}
    return _Shape(
        table=table,
        pk=pk,
        data_cols=data_cols,
        has_entry=has_entry,
        read=read,
        select=f"SELECT rowid, {', '.join(f'[{c}]' for c in read[1:])} FROM [{table}]",
        key_of_record=_getter([at[k] for k in pk]),
        data_of_record=itemgetter(*[at[c] for c in data_cols]),
        key_of_row=itemgetter(*pk),
        data_of_row=itemgetter(*data_cols),
        deleted_i=at["deleted_at"],
        entered_i=at["entered_at"] if has_entry else 0,
        source_i=at["entered_source"] if has_entry else 0,
        seen_i=at["last_seen_run"],
    )


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
    sticky: frozenset[str] = frozenset(),
    version: int | None = None,
    fresh: bool = False,
) -> TableStats:
    """Apply the fetched `rows` of one scope of `table`: the mirror's rows matching the SQL
    condition `where` (with `params`; None: the whole table), further narrowed by `keep`.

    Rows of the scope that were not fetched are marked deleted (when `detect_deletions`); a
    fetched row whose key the mirror holds outside the scope is found by its key and updated.
    `was_empty` says whether the table was empty when the run began (no `insert` change rows
    then; None: look now). The keys of the fetched rows are added to `seen`. A None (or a
    missing key) in a `sticky` column means «not sent»: the saved value stays. `version` is
    the `schema_version` when the caller knows it (None: look). `fresh`: the caller knows the
    mirror holds no row of this scope (its table was empty when the run began and the scope is
    saved for the first time in it), so nothing is read. Call inside a transaction.
    """
    shape = _shape(db, table, version)
    rows = rows if isinstance(rows, list) else list(rows)
    key_of_record = shape.key_of_record
    existing: dict[tuple, tuple] = {}
    if not fresh:
        if where is None:
            query = db.conn.execute(shape.select)
        else:
            query = db.conn.execute(f"{shape.select} WHERE {where}", list(params))
        for record in query:
            existing[key_of_record(record)] = record
    if was_empty is None:
        was_empty = not existing if where is None else _empty(db, table)
    fetched = _by_key(shape, rows)
    if where is not None and not was_empty:
        missing = [k for k in fetched if k not in existing]
        if missing:
            for record in _by_keys(db, table, shape.pk, shape.select, missing):
                existing[key_of_record(record)] = record
    stats = TableStats(fetched=len(fetched))
    plan = _Plan()
    if not existing:  # every fetched row is new (the common case of a first sync)
        new = list(fetched.values())
        if not was_empty:
            plan.changes = [_change(clock, table, k, "insert", None, None, None) for k in fetched]
    else:
        new = _compare(shape, fetched, existing, clock, was_empty, sticky, plan, stats)
    if new:
        stats.inserted = len(new)
        plan.inserts = new
    if seen is not None:
        seen.update(fetched)
    if detect_deletions and existing:
        deleted_i = shape.deleted_i
        for key, gone in existing.items():
            if key in fetched or gone[deleted_i] is not None:
                continue
            if keep is not None and not keep(dict(zip(shape.read, gone, strict=True))):
                continue
            _plan_delete(plan, table, key, gone[0], clock, stats)
    _write(db, shape, clock, plan)
    stats.changes = len(plan.changes)
    return stats


def _by_key(shape: _Shape, rows: list[Row]) -> dict[tuple, Row]:
    """The fetched rows by key (a tuple); of two rows with one key the first counts."""
    if len(shape.pk) == 1:
        keys = list(zip(map(shape.key_of_row, rows)))
    else:
        keys = list(map(shape.key_of_row, rows))
    fetched = dict(zip(keys, rows, strict=True))
    if len(fetched) < len(rows):
        fetched = {}
        for key, row in zip(keys, rows, strict=True):
            fetched.setdefault(key, row)
    return fetched


def _compare(
    shape: _Shape,
    fetched: dict[tuple, Row],
    existing: dict[tuple, tuple],
    clock: RunClock,
    was_empty: bool,
    sticky: frozenset[str],
    plan: _Plan,
    stats: TableStats,
) -> list[Row]:
    """Plan the updates, restores and «seen again» of the fetched rows the mirror holds;
    returns the rows it does not hold (to insert)."""
    table, has_entry = shape.table, shape.has_entry
    data_of_row, data_of_record = shape.data_of_row, shape.data_of_record
    deleted_i, entered_i, source_i = shape.deleted_i, shape.entered_i, shape.source_i
    seen_i, run_id = shape.seen_i, clock.run_id
    new: list[Row] = []
    touches = plan.touches
    for key, row in fetched.items():
        record = existing.get(key)
        if record is None:
            new.append(row)
            if not was_empty:
                plan.changes.append(_change(clock, table, key, "insert", None, None, None))
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
            if record[seen_i] != run_id:  # not seen yet by this run (a group's pupils by term 1)
                touches.append(record[0])
            stats.unchanged += 1
            continue
        old = dict(zip(shape.read, record, strict=True))
        _plan_update(plan, table, row, old, key, shape.data_cols, has_entry, sticky, clock, stats)
    return new


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
    _write(db, _shape(db, table), clock, plan)
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


def _plan_update(
    plan: _Plan,
    table: str,
    row: Row,
    old: Row,
    key: tuple,
    data_cols: Sequence[str],
    has_entry: bool,
    sticky: frozenset[str],
    clock: RunClock,
    stats: TableStats,
) -> None:
    diffs = {
        c: value
        for c in data_cols
        if c in row and (value := row[c]) != old[c] and (value is not None or c not in sticky)
    }
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
        if old["last_seen_run"] != clock.run_id:
            plan.touches.append(old["_rowid"])
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


def _write(db: Database, shape: _Shape, clock: RunClock, plan: _Plan) -> None:
    conn = db.conn
    table = shape.table
    if plan.inserts:
        sql, values = _insert(shape, clock, plan.inserts)
        conn.executemany(sql, values)
    if plan.touches:
        # One UPDATE over the rowids as a JSON list: much faster than one statement per row.
        conn.execute(
            f"UPDATE [{table}] SET last_seen_at = ?, last_seen_run = ? "
            "WHERE rowid IN (SELECT value FROM json_each(?))",
            [clock.now_utc, clock.run_id, json.dumps(plan.touches)],
        )
    for sets, params in plan.updates:
        conn.execute(f"UPDATE [{table}] SET {sets} WHERE rowid = ?", params)
    if plan.changes:
        conn.executemany(
            "INSERT INTO changes (run_id, seen_at, table_name, row_key, kind, column_name, "
            "old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            plan.changes,
        )


_INSERTS: dict[tuple[str, tuple[str, ...], bool, RunClock], str] = {}


def _insert(shape: _Shape, clock: RunClock, rows: list[Row]) -> tuple[str, list[tuple]]:
    """The INSERT of new rows and its parameters: only the portal's columns are bound per row;
    the history columns, the same for every row of the run, are constants of the statement.

    Columns no row has are left out (NULL); entry time is the portal's `entered_at` when set,
    else the run's time (`initial` at the first import, `observed` after)."""
    first = rows[0]
    cols = tuple(c for c in shape.data_cols if c in first)
    portal_time = shape.has_entry and "entered_at" in first
    absent = [c for c in shape.data_cols if c not in first]
    if shape.has_entry and not portal_time:
        absent.append("entered_at")
    take = (*cols, "entered_at") if portal_time else cols
    values: list[tuple]
    try:
        for column in absent:
            if any(map(contains, rows, repeat(column))):
                raise KeyError(column)
        values = list(map(_getter_of(take), rows))
    except KeyError:  # rows of several shapes: every column, a missing one as NULL
        cols = shape.data_cols
        portal_time = shape.has_entry
        take = (*cols, "entered_at") if portal_time else cols
        values = [tuple(map(row.get, take)) for row in rows]
    key = (shape.select, cols, portal_time, clock)
    sql = _INSERTS.get(key)
    if sql is None:
        if len(_INSERTS) > 1000:
            _INSERTS.clear()
        sql = _INSERTS[key] = _insert_sql(shape, cols, portal_time, clock)
    return sql, values


def _insert_sql(shape: _Shape, cols: tuple[str, ...], portal_time: bool, clock: RunClock) -> str:
    names = [*cols, "first_seen_at", "last_seen_at", "first_seen_run", "last_seen_run"]
    now, run = _literal(clock.now_utc), _literal(clock.run_id)
    exprs = [*(f"?{i}" for i in range(1, len(cols) + 1)), now, now, run, run]
    if shape.has_entry:
        names += ["entered_at", "entered_source", "last_absent_at"]
        local = _literal(clock.now_local)
        source = _literal("initial" if clock.initial else "observed")
        if portal_time:
            p = f"?{len(cols) + 1}"
            none = f"{p} IS NULL OR {p} = ''"
            exprs += [
                f"CASE WHEN {none} THEN {local} ELSE {p} END",
                f"CASE WHEN {none} THEN {source} ELSE 'portal' END",
            ]
        else:
            exprs += [local, source]
        exprs.append(_literal(clock.prev_local))
    return (
        f"INSERT INTO [{shape.table}] ({', '.join(f'[{n}]' for n in names)}) "
        f"VALUES ({', '.join(exprs)})"
    )


def _literal(value: str | int | None) -> str:
    """A value as an SQL literal (the run's own times and id, never the portal's data)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(int(value))
    return "'" + value.replace("'", "''") + "'"


def _getter_of(columns: tuple[str, ...]) -> Callable[[Row], tuple]:
    """A function taking those items of a mapping, always as a tuple."""
    if len(columns) == 1:
        (column,) = columns
        return lambda row: (row[column],)
    return itemgetter(*columns)
