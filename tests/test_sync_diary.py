"""Parent and pupil accounts: their children's diary weeks land in the same tables."""

from __future__ import annotations

import datetime as dt

from asurso_sync.demo import sync_simulator
from asurso_sync.mirror.db import open_mirror

AS_OF = dt.date(2026, 5, 20)


def marks(db, students=None) -> set:
    rows = db.execute(
        "SELECT assignment_id, student_id, mark, duty_mark FROM marks WHERE deleted_at IS NULL"
    ).fetchall()
    return {r for r in rows if students is None or r[1] in students}


def test_parent_diary_sync_holds_exactly_the_childrens_marks(small_school, small_mirror, tmp_path):
    result = sync_simulator(tmp_path / "p.db", small_school, AS_OF, role="parent")
    db = open_mirror(tmp_path / "p.db")
    children = {r[0] for r in db.execute("SELECT id FROM students")}
    assert len(children) == 2
    assert result.role == "Родитель"
    expected = marks(open_mirror(small_mirror), children)
    assert expected and marks(db) == expected
    lessons = db.execute("SELECT count(*), count(DISTINCT class_id) FROM lessons").fetchone()
    assert lessons[0] > 0 and lessons[1] == 2
    assert db["sync_runs"].get(1)["account_role"] == "Родитель"


def test_pupil_diary_sync_sees_only_itself(small_school, small_mirror, tmp_path):
    sync_simulator(tmp_path / "s.db", small_school, AS_OF, role="student", full=False)
    db = open_mirror(tmp_path / "s.db")
    (pupil,) = [r[0] for r in db.execute("SELECT id FROM students")]
    assert {r[1] for r in marks(db)} == {pupil}
    first = db.execute("SELECT min(date) FROM lessons").fetchone()[0]
    assert first >= "2026-01-01"  # incremental: the current and the previous term only
    admin = {m for m in marks(open_mirror(small_mirror), {pupil})}
    lesson_ids = {r[0] for r in db.execute("SELECT id FROM lessons")}
    admin_db = open_mirror(small_mirror)
    in_range = {
        m
        for m in admin
        if admin_db.execute(
            "SELECT lesson_id FROM marks WHERE assignment_id = ? AND student_id = ?", [m[0], m[1]]
        ).fetchone()[0]
        in lesson_ids
    }
    assert marks(db) == in_range


def test_multirole_staff_account_syncs_as_its_staff_role(small_school, tmp_path):
    result = sync_simulator(tmp_path / "m.db", small_school, AS_OF, role="multirole", full=False)
    assert result.role == "Учитель"
    db = open_mirror(tmp_path / "m.db")
    assert db["subject_groups"].count > 0 and db["marks"].count > 0
