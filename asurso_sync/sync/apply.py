"""Records → mirror: each batch saved with history inside the run's transaction, one scope at a
time, each scope all-or-nothing (a SAVEPOINT), and a deletion guard before anything commits.

Where a missing row means «deleted on the portal» is the batch's scope, written as SQL over the
mirror (`subject_group_id = ? AND term_id = ?` for a journal page, ...): rows outside what the run
fetched are never marked deleted. Tables that several answers fill (pupils, group members) are
compared once every batch is in (`finish`), leaving out classes and groups whose journal was
skipped. A column the portal only sometimes sends (`STICKY`) keeps its value when an answer
leaves it out, instead of being cleared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import pickle
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlite_utils import Database

from asurso_sync.errors import DeletionRefused
from asurso_sync.mirror.history import (
    RunClock,
    TableStats,
    mark_missing,
    save_rows,
    schema_version,
)
from asurso_sync.mirror.schema import SYNCED_TABLES
from asurso_sync.sync.fetch import (
    DIGEST,
    DIGEST_VERSION,
    SCOPE_ERRORS,
    UNCHANGED,
    Batch,
    Item,
    Records,
    Row,
    Skipped,
    one_line,
    scope_key,
)

log = logging.getLogger(__name__)

# Columns an answer may leave out (None from the adapter = not sent): never cleared by a None.
STICKY: dict[str, frozenset[str]] = {
    "students": frozenset({"full_name", "free", "individual_educ", "added_date", "health_filled"}),
    "lessons": frozenset({"subject_name"}),
    "teachers": frozenset({"name"}),
}
NOTHING_STICKY: frozenset[str] = frozenset()
# School-wide lists that never come back empty from a working portal.
MUST_NOT_BE_EMPTY = ("classes", "terms", "subject_groups", "students", "subjects")

# The tables a staff batch of each kind fills, scope by scope; no two scopes of a run overlap
# (a journal per subject group and term, a plan per group, a report per class and span). On a
# table empty when the run began, a scope's first save reads nothing back (there is nothing to
# compare), so from the first batch of its kind such a table keeps no index but its key until
# `finish` builds them again: a school's first import then writes each row once and sorts
# each index once. A key seen twice still fails on the key, and the run's rollback restores
# the dropped indexes with everything else.
FIRST_IMPORT = {
    "journal": (
        "lessons",
        "assignments",
        "marks",
        "attendance",
        "period_marks",
        "subject_group_term_students",
    ),
    "plan": ("plans", "plan_lessons"),
    "access": ("journal_access",),
}

# Scopes whose answer is compared by digest first (an access report by its raw page, which
# then is not even parsed when unchanged: see `sync.fetch`).
DIGESTED = {"journal", "plan", "access"}

STUDENT, TYPE, REASON = itemgetter("student_id"), itemgetter("type_id"), itemgetter("reason")
MEMBER = itemgetter("subject_group_id", "student_id")

IN_JSON = "IN (SELECT value FROM json_each(?))"
UNDER_JOURNAL = "lesson_id IN (SELECT id FROM lessons WHERE subject_group_id = ? AND term_id = ?)"


@dataclass(frozen=True)
class Guard:
    """The deletion guard: refuse a run that would mark more than `share` of a table's live
    rows deleted, or that met an empty school-wide list while the mirror has rows."""

    share: float = 0.2
    accept: bool = False


class Applier:
    """Saves batches into the mirror, one at a time, inside one transaction."""

    def __init__(self, db: Database, clock: RunClock, guard: Guard = Guard()) -> None:
        self.db = db
        self.clock = clock
        self.guard = guard
        self.stats: dict[str, TableStats] = {}
        self.skipped: list[Skipped] = []
        self.live: dict[str, int] = {}
        self.was_empty: dict[str, bool] = {}
        for table in SYNCED_TABLES:
            live, total = db.execute(
                f"SELECT count(*) - count(deleted_at), count(*) FROM [{table}]"
            ).fetchone()
            self.live[table] = live
            self.was_empty[table] = total == 0
        self.deferred: list[str] = []  # the indexes to build again in `finish`
        self.first_import: set[str] = set()  # empty tables whose scopes are not read back
        self.kinds_begun: set[str] = set()
        self.scopes_saved: set[tuple] = set()
        self.schema = schema_version(db)  # no column changes during a run
        self.school: dict[str, Any] = {}
        self.diary: dict[str, Any] | None = None
        self.students: set[tuple] = set()
        self.members: set[tuple] = set()
        self.types_known: set[int] = set()
        self.types_seen: set[int] = set()
        self.codes_known: set[str] = set()
        self.codes_seen: set[str] = set()
        self.failed_sgs: set[int] = set()
        self.journals = 0
        # A journal's digest counts only with its summary (what `_confirm` needs of it).
        self.digests: dict[str, str] = {}
        self.summaries: dict[str, str] = {}
        for scope, digest, summary in db.execute(
            "SELECT scope, digest, summary FROM sync_scope_digests"
        ):
            if summary is not None:
                self.summaries[scope] = summary
            elif scope.startswith("journal"):
                continue
            self.digests[scope] = digest
        self.unchanged_scopes = 0
        self.confirmed: list[str] = []

    def _begin_first_import(self, kind: str) -> None:
        """At the first batch of `kind`: its tables that were empty take their scopes unread,
        and keep only their keys until `finish` (see FIRST_IMPORT)."""
        self.kinds_begun.add(kind)
        tables = [t for t in FIRST_IMPORT[kind] if self.was_empty[t]]
        self.first_import.update(tables)
        for name, sql in self.db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name {IN_JSON}",  # `sql IS NULL`: the index SQLite keeps for a key
            [json.dumps(tables)],
        ).fetchall():
            self.db.execute(f"DROP INDEX [{name}]")
            self.deferred.append(sql)

    # --- one batch -------------------------------------------------------------------------

    def apply(self, item: Item) -> None:
        """Save one batch as one scope: all of it, or (for a per-scope answer) none of it and
        the scope recorded as skipped. A school batch that does not fit fails the run."""
        if isinstance(item, Skipped):
            self._skip(item)
            return
        conn = self.db.conn
        saved = _Saved(self)
        digest = key = None
        if item.kind in DIGESTED:
            key = scope_key(item.kind, item.scope)
            taken_as_unchanged = UNCHANGED in item.records
            given = item.records.pop(DIGEST, None) or item.records.pop(UNCHANGED, None)
            if given:
                digest = given[0]["digest"]
            else:
                digest = hashlib.blake2b(
                    pickle.dumps((DIGEST_VERSION, item.records), protocol=5), digest_size=16
                ).hexdigest()
            if self.digests.get(key) == digest:
                self._confirm(item, key, saved)
                saved.merge()
                return
            if taken_as_unchanged:  # never: the fetch compared with these very digests
                raise RuntimeError(f"{key}: an answer taken as unchanged has no saved digest")
        if item.kind in FIRST_IMPORT and item.kind not in self.kinds_begun:
            self._begin_first_import(item.kind)
        conn.execute("SAVEPOINT scope")
        try:
            summary = _seen(item.records) if item.kind == "journal" else None
            getattr(self, f"_{item.kind}")(item, saved)
            if key is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO sync_scope_digests (scope, digest, run_id, summary) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        key,
                        digest,
                        self.clock.run_id,
                        None if summary is None else json.dumps(summary),
                    ],
                )
        except SCOPE_ERRORS as exc:
            conn.execute("ROLLBACK TO scope")
            conn.execute("RELEASE scope")
            if item.kind in ("school", "diary"):
                raise
            log.info("skipped %s %s: %s", item.endpoint, item.scope, exc)
            self._skip(Skipped(item.kind, item.endpoint, item.scope, one_line(exc)))
            return
        except BaseException:
            conn.execute("ROLLBACK TO scope")
            conn.execute("RELEASE scope")
            raise
        conn.execute("RELEASE scope")
        saved.merge()
        if item.kind == "school":
            self.check_guard(saved.tables)

    def _confirm(self, batch: Batch, key: str, saved: _Saved) -> None:
        """An answer exactly as the one the mirror last saved for this scope: nothing to compare
        or write; only what the end of the run needs (who was seen) is taken from it."""
        self.unchanged_scopes += 1
        self.confirmed.append(key)  # marked seen by this run in one statement, in `finish`
        if batch.kind == "journal":
            # a journal answer is not even parsed when unchanged: what it held is in its summary
            seen = json.loads(self.summaries[key])
            for table, count in seen["counts"].items():
                saved.count_unchanged(table, count)
            saved.students |= {(s,) for s in seen["students"]}
            saved.members |= {(sg, s) for sg, s in seen["members"]}
            saved.types |= set(seen["types"])
            saved.codes |= set(seen["codes"])
            saved.journals += 1
            return
        for table, rows in batch.records.items():
            if table in SYNCED_TABLES:
                saved.count_unchanged(table, len(rows))

    def _skip(self, item: Skipped) -> None:
        self.skipped.append(item)
        if item.kind == "journal":
            self.failed_sgs.add(item.scope["subject_group_id"])

    def _school(self, batch: Batch, saved: _Saved) -> None:
        r, info = batch.records, batch.info
        self.school = info
        year = [info["year_id"]]
        in_year = "year_id = ? OR year_id IS NULL"
        classes = [json.dumps(info["class_ids"])]
        groups = [json.dumps(info["sg_ids"])]
        self.types_known = {t["id"] for t in r.get("assignment_types", [])}
        self.codes_known = {c["code"] for c in r.get("attendance_reasons", [])}
        self._refuse_empty(r)
        scopes: dict[str, tuple[str | None, list[Any]]] = {
            "schools": (None, []),
            "years": (None, []),
            "terms": (in_year, year),
            "vacations": (in_year, year),
            "teachers": (None, []),
            "classes": (in_year, year),
            "class_teachers": (f"class_id {IN_JSON}", classes),
            "subjects": (None, []),
            "subject_groups": (f"class_id {IN_JSON}", classes),
            "subject_group_teachers": (f"subject_group_id {IN_JSON}", groups),
            "subject_group_terms": (f"subject_group_id {IN_JSON}", groups),
            "students": (f"class_id {IN_JSON}", classes),
            "assignment_types": ("known = 1", []),
            "attendance_reasons": ("known = 1", []),
            "school_settings": (in_year, year),
        }
        for table, (where, params) in scopes.items():
            saved.save(
                table,
                r.get(table, []),
                where,
                params,
                detect=table not in ("schools", "years", "students"),
                seen=saved.students if table == "students" else None,
            )

    def _refuse_empty(self, records: Records) -> None:
        if self.guard.accept:
            return
        for table in MUST_NOT_BE_EMPTY:
            if not records.get(table) and self.live[table]:
                raise DeletionRefused(
                    f"the portal sent no {table} while the mirror holds {self.live[table]}: "
                    "nothing was saved; " + _ACCEPT
                )

    def _journal(self, batch: Batch, saved: _Saved) -> None:
        r = batch.records
        sg, term = batch.scope["subject_group_id"], batch.scope["term_id"]
        self._new_pupils(r, saved)
        scope = [sg, term]
        saved.save("lessons", r["lessons"], "subject_group_id = ? AND term_id = ?", scope)
        for table in ("assignments", "marks", "attendance"):
            saved.save(table, r[table], UNDER_JOURNAL, scope)
        saved.save("period_marks", r["period_marks"], "subject_group_id = ? AND term_id = ?", scope)
        saved.save(
            "subject_group_term_students",
            [{**m, "term_id": term} for m in r["subject_group_students"]],
            "subject_group_id = ? AND term_id = ?",
            scope,
        )
        saved.save(
            "subject_group_students",
            r["subject_group_students"],
            "subject_group_id = ?",
            [sg],
            detect=False,
            seen=saved.members,
        )
        saved.types.update(map(TYPE, r["assignments"]))
        saved.codes.update(map(REASON, r["attendance"]))
        saved.journals += 1

    def _new_pupils(self, r: Records, saved: _Saved) -> None:
        """Pupils the journal names but the class lists did not (left the class, ...), and bare
        ids of pupils with a mark but no name anywhere."""
        known = self.students
        new: dict[int, Row] = {}
        for s in r.get("journal_students", []):
            if (s["id"],) not in known:
                new.setdefault(s["id"], s)
        for table in ("marks", "attendance", "period_marks"):
            for sid in dict.fromkeys(map(STUDENT, r[table])):
                if (sid,) not in known and sid not in new:
                    new[sid] = {"id": sid, "class_id": None, "full_name": None}
        if new:
            saved.save(
                "students",
                list(new.values()),
                f"id {IN_JSON}",
                [json.dumps(sorted(new))],
                detect=False,
                seen=saved.students,
            )

    def _plan(self, batch: Batch, saved: _Saved) -> None:
        sg = [batch.scope["subject_group_id"]]
        saved.save("plans", batch.records.get("plans", []), "subject_group_id = ?", sg)
        saved.save(
            "plan_lessons", batch.records.get("plan_lessons", []), "subject_group_id = ?", sg
        )

    def _access(self, batch: Batch, saved: _Saved) -> None:
        s = batch.scope
        saved.save(
            "journal_access",
            batch.records["journal_access"],
            "class_id = ? AND entered_at >= ? AND entered_at < ?",
            [s["class_id"], s["from"], _next_day(s["to"])],
        )

    def _diary(self, batch: Batch, saved: _Saved) -> None:
        r, info = batch.records, batch.info
        self.diary = info
        self.types_known = {t["id"] for t in r["assignment_types"]}
        lessons = f"class_id {IN_JSON} AND date >= ? AND date < ?"
        span = [json.dumps(info["class_ids"]), info["from"], info["to"]]
        under = f"lesson_id IN (SELECT id FROM lessons WHERE {lessons})"
        pupils = json.dumps(info["pupils"])
        for table, where, params, detect in (
            ("years", None, [], False),
            ("terms", None, [], True),
            ("classes", None, [], False),
            ("students", None, [], False),
            ("assignment_types", "known = 1", [], True),
            ("lessons", lessons, span, True),
            ("assignments", under, span, False),
            ("marks", f"{under} AND student_id {IN_JSON}", [*span, pupils], True),
        ):
            saved.save(table, r[table], where, params, detect=detect)
        saved.types |= {a["type_id"] for a in r["assignments"]}
        saved.journals += batch.info.get("weeks", 0)

    # --- the end of the run ----------------------------------------------------------------

    def finish(self) -> dict[str, dict[str, int]]:
        """Compare the tables several batches filled, add the ids the lists did not name, and
        check the deletion guard; returns the counts per table."""
        for sql in self.deferred:
            self.db.execute(sql)
        self.deferred = []
        if self.confirmed:
            self.db.execute(
                f"UPDATE sync_scope_digests SET run_id = ? WHERE scope {IN_JSON}",
                [self.clock.run_id, json.dumps(self.confirmed)],
            )
            self.confirmed = []
        saved = _Saved(self)
        if self.school:
            failed_classes = {
                row[0]
                for row in self.db.execute(
                    f"SELECT class_id FROM subject_groups WHERE id {IN_JSON}",
                    [json.dumps(sorted(self.failed_sgs))],
                )
            }
            classes = [c for c in self.school["class_ids"] if c not in failed_classes]
            saved.missing("students", self.students, f"class_id {IN_JSON}", [json.dumps(classes)])
            fetched = {sg for sg, _ in self.school["pairs"]} - self.failed_sgs
            saved.missing(
                "subject_group_students",
                self.members,
                f"subject_group_id {IN_JSON}",
                [json.dumps(sorted(fetched))],
            )
        unknown_types = sorted(self.types_seen - self.types_known)
        unknown_codes = sorted(self.codes_seen - self.codes_known)
        if unknown_types:
            saved.save(
                "assignment_types",
                [
                    {"id": t, "name": None, "abbr": None, "sort_order": None, "known": 0}
                    for t in unknown_types
                ],
                f"id {IN_JSON}",
                [json.dumps(unknown_types)],
                detect=False,
            )
        if unknown_codes:
            saved.save(
                "attendance_reasons",
                [{"code": c, "local_code": c, "name": None, "known": 0} for c in unknown_codes],
                f"code {IN_JSON}",
                [json.dumps(unknown_codes)],
                detect=False,
            )
        if unknown_types:
            log.warning(
                "kept %d assignment type id(s) the portal's list does not name (%s): marks on "
                "them are checked only by R08; once the portal names them, list each name in "
                "[rules] oral_types, written_types or kr_types",
                len(unknown_types),
                ", ".join(map(str, unknown_types)),
            )
        if unknown_codes:
            log.warning(
                "kept %d absence code(s) the portal's list does not name (%s): map each in "
                "[rules.codes] (Н, О, осв or reasons), else R11 warns about it",
                len(unknown_codes),
                ", ".join(unknown_codes),
            )
        saved.merge()
        self.check_guard(list(SYNCED_TABLES))
        return {
            table: stats.as_dict()
            for table, stats in self.stats.items()
            if stats.fetched or stats.deleted
        }

    def check_guard(self, tables: list[str]) -> None:
        """Refuse (DeletionRefused) when the run so far marks too much of a table deleted; the
        message names the most telling table (classes before pupils before marks ...)."""
        if self.guard.accept:
            return
        over = []
        for table in tables:
            stats = self.stats.get(table)
            live = self.live[table]
            if stats is None or not live or not stats.deleted:
                continue
            if stats.deleted > self.guard.share * live:
                over.append((GUARD_ORDER.index(table), table, stats.deleted, live))
        if not over:
            return
        _, table, deleted, live = min(over)
        more = f" (and {len(over) - 1} more table(s))" if len(over) > 1 else ""
        raise DeletionRefused(
            f"the portal's answers would mark {deleted} of {live} {table} deleted{more}, more "
            f"than [sync] max_deletion_share = {self.guard.share:g}: nothing was saved; " + _ACCEPT
        )


GUARD_ORDER = list(MUST_NOT_BE_EMPTY) + [t for t in SYNCED_TABLES if t not in MUST_NOT_BE_EMPTY]
_ACCEPT = "if the portal really deleted them, run `asurso-sync sync --accept-deletions`"


class _Saved:
    """What one scope saved, merged into the run's totals only when the scope commits."""

    def __init__(self, applier: Applier) -> None:
        self.applier = applier
        self.stats: dict[str, TableStats] = {}
        self.tables: list[str] = []
        self.students: set[tuple] = set()
        self.members: set[tuple] = set()
        self.types: set[int] = set()
        self.codes: set[str] = set()
        self.journals = 0

    def save(
        self,
        table: str,
        rows: list[Row],
        where: str | None,
        params: list[Any],
        *,
        detect: bool = True,
        seen: set[tuple] | None = None,
    ) -> None:
        a = self.applier
        fresh = False
        if table in a.first_import:
            scope = (table, where, *params)
            fresh = scope not in a.scopes_saved
            a.scopes_saved.add(scope)
        stats = save_rows(
            a.db,
            table,
            rows,
            a.clock,
            where=where,
            params=params,
            detect_deletions=detect,
            was_empty=a.was_empty[table],
            seen=seen,
            sticky=STICKY.get(table, NOTHING_STICKY),
            version=a.schema,
            fresh=fresh,
        )
        self._add(table, stats)

    def missing(self, table: str, seen: set[tuple], where: str, params: list[Any]) -> None:
        a = self.applier
        self._add(table, mark_missing(a.db, table, seen, a.clock, where=where, params=params))

    def count_unchanged(self, table: str, rows: int) -> None:
        self._add(table, TableStats(fetched=rows, unchanged=rows))

    def _add(self, table: str, stats: TableStats) -> None:
        total = self.stats.get(table)
        if total is None:
            self.stats[table] = stats
            self.tables.append(table)
        else:
            total.add(stats)

    def merge(self) -> None:
        a = self.applier
        for table, stats in self.stats.items():
            total = a.stats.get(table)
            if total is None:
                a.stats[table] = total = TableStats()
            total.add(stats)
        a.students |= self.students
        a.members |= self.members
        a.types_seen |= self.types
        a.codes_seen |= self.codes
        a.journals += self.journals


def _next_day(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def _seen(r: Records) -> dict[str, Any]:
    """What the end of a run needs of one journal answer (kept as its digest's summary): its
    row counts, the pupils it named, the group's members, assignment types, absence codes."""
    students = {s["id"] for s in r.get("journal_students", [])}
    for table in ("marks", "attendance", "period_marks"):
        students.update(map(STUDENT, r[table]))
    return {
        "counts": {table: len(rows) for table, rows in r.items() if table in SYNCED_TABLES},
        "students": sorted(students),
        "members": sorted(set(map(MEMBER, r["subject_group_students"]))),
        "types": sorted(set(map(TYPE, r["assignments"]))),
        "codes": sorted(set(map(REASON, r["attendance"]))),
    }
