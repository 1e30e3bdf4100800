"""Saving with history: first/last seen, changes, deletions inside the scope, restores, locks."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from asurso_sync.errors import SyncLocked
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.history import RunClock, save_rows, save_table
from asurso_sync.mirror.lock import SyncLock
from asurso_sync.mirror.runs import INTERRUPTED, close_stale_runs, start_run
from asurso_sync.sync.apply import STICKY

T1, T2, T3 = ("2026-05-20T17:00:00+00:00", "2026-05-27T17:00:00+00:00", "2026-06-03T17:00:00+00:00")
L1, L2, L3 = "2026-05-20T21:00:00", "2026-05-27T21:00:00", "2026-06-03T21:00:00"
HIST = {"deleted_at": None, "deleted_run": None}


def clock(run: int) -> RunClock:
    now, local = [(T1, L1), (T2, L2), (T3, L3)][run - 1]
    return RunClock(
        run_id=run, now_utc=now, now_local=local, prev_local=None if run == 1 else [L1, L2][run - 2]
    )


@pytest.fixture
def db():
    db = open_mirror(memory=True)
    for run in (1, 2, 3):
        db["sync_runs"].insert({"id": run, "status": "ok"})
    db["subjects"].insert_all([{"id": 1, "name": "Математика", "first_seen_at": T1}])
    return db


def rows(db, table):
    return [{k: v for k, v in r.items()} for r in db.query(f"select * from {table} order by 1")]


def changes(db):
    return [
        (
            c["run_id"],
            c["table_name"],
            c["row_key"],
            c["kind"],
            c["column_name"],
            c["old_value"],
            c["new_value"],
        )
        for c in db.query("select * from changes order by id")
    ]


def test_first_import_inserts_without_change_rows_then_updates_deletes_restores(db):
    a = {"id": 7, "name": "Математика", "short_name": "мат"}
    b = {"id": 8, "name": "Физика", "short_name": "физ"}
    with db.conn:
        stats = save_table(db, "teachers", [{"id": 1, "name": "A"}], clock(1))
    assert stats.as_dict() == {
        "fetched": 1,
        "inserted": 1,
        "updated": 0,
        "deleted": 0,
        "restored": 0,
        "unchanged": 0,
        "changes": 0,
    }
    save_table(db, "subjects", [a, b], clock(1))
    assert changes(db) == [
        (1, "subjects", "[7]", "insert", None, None, None),
        (1, "subjects", "[8]", "insert", None, None, None),
        (1, "subjects", "[1]", "delete", None, None, None),
    ]
    db.execute("delete from changes")
    save_table(db, "subjects", [{**a, "short_name": "матем"}], clock(2))
    assert changes(db) == [
        (2, "subjects", "[7]", "update", "short_name", "мат", "матем"),
        (2, "subjects", "[8]", "delete", None, None, None),
    ]
    save_table(
        db, "subjects", [a, b, {"id": 1, "name": "Математика", "short_name": None}], clock(3)
    )
    assert rows(db, "subjects")[1:] == [
        {
            "id": 7,
            "name": "Математика",
            "short_name": "мат",
            "first_seen_at": T1,
            "last_seen_at": T3,
            "first_seen_run": 1,
            "last_seen_run": 3,
            **HIST,
        },
        {
            "id": 8,
            "name": "Физика",
            "short_name": "физ",
            "first_seen_at": T1,
            "last_seen_at": T3,
            "first_seen_run": 1,
            "last_seen_run": 3,
            **HIST,
        },
    ]
    assert changes(db)[2:] == [
        (3, "subjects", "[7]", "update", "short_name", "матем", "мат"),
        (3, "subjects", "[8]", "restore", None, None, None),
        (3, "subjects", "[1]", "restore", None, None, None),
    ]


def test_deletions_only_inside_the_fetched_scope(db):
    db["teachers"].insert_all([{"id": 1, "name": "A"}, {"id": 2, "name": "B"}])
    save_table(db, "teachers", [], clock(2), scope=lambda r: r["id"] == 1)
    assert [(r["id"], r["deleted_at"], r["deleted_run"]) for r in rows(db, "teachers")] == [
        (1, T2, 2),
        (2, None, None),
    ]


def _mark(entered=None, mark="5"):
    return {
        "assignment_id": 300,
        "student_id": 50,
        "lesson_id": 90,
        "subject_group_id": 12,
        "mark": mark,
        "mark_value": int(mark) if mark.isdigit() else None,
        "duty_mark": 0,
        "weight": 10,
        "entered_at": entered,
    }


@pytest.fixture
def journal_db(db):
    db["classes"].insert({"id": 1, "name": "5а"})
    db["subject_groups"].insert({"id": 12, "class_id": 1, "subject_id": 1})
    db["students"].insert({"id": 50, "class_id": 1})
    db["lessons"].insert({"id": 90, "subject_group_id": 12, "class_id": 1})
    db["assignments"].insert({"id": 300, "lesson_id": 90})
    return db


def test_entry_times_portal_initial_observed(journal_db):
    db = journal_db
    save_table(db, "marks", [_mark()], clock(1))
    assert [
        (r["entered_at"], r["entered_source"], r["last_absent_at"]) for r in rows(db, "marks")
    ] == [(L1, "initial", None)]
    db.execute("delete from marks")
    save_table(db, "marks", [_mark()], clock(2))
    assert [
        (r["entered_at"], r["entered_source"], r["last_absent_at"]) for r in rows(db, "marks")
    ] == [(L2, "observed", L1)]
    db.execute("delete from marks")
    save_table(db, "marks", [_mark("2026-05-19T14:07:00")], clock(2))
    assert rows(db, "marks") == [
        {
            **_mark("2026-05-19T14:07:00"),
            "entered_source": "portal",
            "last_absent_at": L1,
            "first_seen_at": T2,
            "last_seen_at": T2,
            "first_seen_run": 2,
            "last_seen_run": 2,
            **HIST,
        }
    ]


def test_a_changed_mark_keeps_its_entry_time_and_records_old_and_new(journal_db):
    db = journal_db
    save_table(db, "marks", [_mark()], clock(1))
    db.execute("delete from changes")
    save_table(db, "marks", [_mark(mark="н/а")], clock(2))
    assert changes(db) == [
        (2, "marks", "[300, 50]", "update", "mark", "5", "н/а"),
        (2, "marks", "[300, 50]", "update", "mark_value", "5", None),
    ]
    assert [(r["mark"], r["entered_at"], r["entered_source"]) for r in rows(db, "marks")] == [
        ("н/а", L1, "initial")
    ]


def test_unchanged_rows_only_advance_last_seen(journal_db):
    db = journal_db
    save_table(db, "marks", [_mark("2026-05-19T14:07:00")], clock(1))
    stats = save_table(db, "marks", [_mark("2026-05-19T14:07:00")], clock(2))
    assert (stats.unchanged, stats.changes) == (1, 0)
    assert [
        (r["first_seen_run"], r["last_seen_run"], r["last_seen_at"]) for r in rows(db, "marks")
    ] == [(1, 2, T2)]


def test_new_marks_take_the_portals_entry_time_or_the_runs_in_one_batch(journal_db):
    db = journal_db
    db["assignments"].insert_all([{"id": 301, "lesson_id": 90}, {"id": 302, "lesson_id": 90}])
    marks = [
        {**_mark("2026-05-19T14:07:00"), "assignment_id": 300},
        {**_mark(None), "assignment_id": 301},
        {**_mark(""), "assignment_id": 302},
    ]
    stats = save_table(db, "marks", marks, clock(2))
    assert (stats.inserted, stats.changes) == (3, 0)  # the table was empty: no insert rows
    assert [
        (r["assignment_id"], r["entered_at"], r["entered_source"], r["last_absent_at"])
        for r in rows(db, "marks")
    ] == [
        (300, "2026-05-19T14:07:00", "portal", L1),
        (301, L2, "observed", L1),
        (302, L2, "observed", L1),
    ]


def test_new_marks_without_an_entered_at_key_are_entered_at_the_run(journal_db):
    db = journal_db
    mark = {k: v for k, v in _mark().items() if k != "entered_at"}
    save_table(db, "marks", [mark], clock(1))
    assert rows(db, "marks") == [
        {
            **mark,
            "entered_at": L1,
            "entered_source": "initial",
            "last_absent_at": None,
            "first_seen_at": T1,
            "last_seen_at": T1,
            "first_seen_run": 1,
            "last_seen_run": 1,
            **HIST,
        }
    ]


def _lesson(lesson_id, **extra):
    return {"id": lesson_id, "subject_group_id": 12, "class_id": 1, "term_id": 4, **extra}


def test_new_rows_that_send_different_columns_are_saved_whole(journal_db):
    """In one batch a later row sends a column the first leaves out; in another a later row
    leaves out a column the first sends: every value sent is saved, a column left out is NULL."""
    db = journal_db
    for batch in (
        [_lesson(91, topic="Дроби"), _lesson(92, topic="Проценты", teacher_id=7)],
        [_lesson(93, topic="Уравнения"), _lesson(94)],
    ):
        ids = [row["id"] for row in batch]
        save_rows(db, "lessons", batch, clock(1), where="id IN (?, ?)", params=ids, was_empty=True)
    assert [
        {k: r[k] for k in ("id", "term_id", "topic", "teacher_id", "first_seen_run")}
        for r in rows(db, "lessons")[1:]
    ] == [
        {"id": 91, "term_id": 4, "topic": "Дроби", "teacher_id": None, "first_seen_run": 1},
        {"id": 92, "term_id": 4, "topic": "Проценты", "teacher_id": 7, "first_seen_run": 1},
        {"id": 93, "term_id": 4, "topic": "Уравнения", "teacher_id": None, "first_seen_run": 1},
        {"id": 94, "term_id": 4, "topic": None, "teacher_id": None, "first_seen_run": 1},
    ]


@pytest.mark.parametrize("fresh", [False, True], ids=["read back", "fresh scope"])
def test_a_key_sent_twice_is_saved_once_as_first_sent(journal_db, fresh):
    db = journal_db
    stats = save_rows(
        db,
        "lessons",
        [_lesson(91, topic="Дроби"), _lesson(92), _lesson(91, topic="Проценты")],
        clock(1),
        where="id > ?",
        params=[90],
        was_empty=True,
        fresh=fresh,
    )
    assert (stats.fetched, stats.inserted, stats.changes) == (2, 2, 0)
    assert [(r["id"], r["topic"]) for r in rows(db, "lessons")] == [
        (90, None),
        (91, "Дроби"),
        (92, None),
    ]


def test_a_fresh_scope_is_inserted_as_sent_without_change_rows(journal_db):
    """A scope the caller knows the mirror holds nothing of (`fresh`): nothing is read back,
    every row is inserted as sent, and a first import writes no change rows."""
    db = journal_db
    sent = [_lesson(91, topic="Дроби"), _lesson(92, topic="Проценты")]
    stats = save_rows(
        db, "lessons", sent, clock(1), where="id > ?", params=[90], was_empty=True, fresh=True
    )
    assert stats.as_dict() == {
        "fetched": 2,
        "inserted": 2,
        "updated": 0,
        "deleted": 0,
        "restored": 0,
        "unchanged": 0,
        "changes": 0,
    }
    assert [(r["id"], r["topic"], r["first_seen_run"]) for r in rows(db, "lessons")] == [
        (90, None, None),
        (91, "Дроби", 1),
        (92, "Проценты", 1),
    ]
    assert changes(db) == []


def test_a_sticky_column_the_portal_leaves_out_keeps_its_value(db):
    """A pupil's name is not in every answer: a None (or no key) keeps the saved name, a new
    name replaces it with an `update` change row."""
    db["classes"].insert({"id": 1, "name": "5а"})
    sticky = STICKY["students"]
    pupil = {"id": 50, "class_id": 1, "full_name": "Иванов Иван", "free": 0}
    with db.conn:
        save_rows(db, "students", [pupil], clock(1), sticky=sticky)
    stats = save_rows(
        db, "students", [{**pupil, "full_name": None, "free": None}], clock(2), sticky=sticky
    )
    assert (stats.unchanged, stats.updated, stats.changes) == (1, 0, 0)
    stats = save_rows(db, "students", [{"id": 50, "class_id": 1}], clock(2), sticky=sticky)
    assert (stats.unchanged, stats.updated, stats.changes) == (1, 0, 0)
    save_rows(db, "students", [{**pupil, "full_name": "Иванов Иван Петрович"}], clock(3))
    assert [(r["full_name"], r["free"], r["last_seen_run"]) for r in rows(db, "students")] == [
        ("Иванов Иван Петрович", 0, 3)
    ]
    assert changes(db) == [
        (3, "students", "[50]", "update", "full_name", "Иванов Иван", "Иванов Иван Петрович")
    ]


def _hold_lock(path, ready, release):
    with SyncLock(path):
        ready.set()
        release.wait(10)


def test_a_second_sync_is_refused_with_the_holders_pid(tmp_path):
    db_path = tmp_path / "asurso.db"
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(db_path, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(SyncLocked) as info, SyncLock(db_path):
            pass
        assert f"pid {holder.pid}, started 20" in str(info.value)
    finally:
        release.set()
        holder.join(10)
    with SyncLock(db_path):  # free again once the holder ended
        assert oct(os.stat(db_path.with_name("asurso.db.lock")).st_mode & 0o777) == "0o600"


def test_stale_running_rows_are_marked_failed(tmp_path):
    db = open_mirror(tmp_path / "m.db")
    run = start_run(db, mode="full", since=None, portal_url="http://x")
    assert close_stale_runs(db) == 1
    row = db["sync_runs"].get(run)
    assert (row["status"], row["error"]) == ("failed", INTERRUPTED)
