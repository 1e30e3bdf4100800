"""Deadlines as the Положение sets them: the 12-hour unlock of one date, school days, where each
deadline comes from, corrections after the lock, remarks left unfixed, КЭС in the КТП.
"""

from __future__ import annotations

import datetime as dt

from mirror_factory import MirrorFactory

from asurso_sync.mirror.history import RunClock, save_table
from asurso_sync.rules import RULES_BY_ID, check, evaluate, parse_rule_settings
from asurso_sync.rules.base import deadline_label
from asurso_sync.rules.escalation import fix_by, overdue_per_teacher, overdue_remarks

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def remarks(f: MirrorFactory, as_of: str, rule: str, **config) -> list[tuple]:
    """(rule, key, addressee, teacher_id, deadline, deadline_source) of every finding."""
    result = evaluate(f.db, parse_rule_settings(config), dt.date.fromisoformat(as_of), [rule])
    return sorted(
        (x.rule, x.key, x.addressee, x.teacher_id, x.deadline, x.deadline_source)
        for x in result.findings
    )


# --- 5. 7.4: «Дата открывается на 12 часов» -------------------------------------------------------
def test_7_4_unlock_opens_one_date_for_12_hours(tmp_path):
    f = MirrorFactory()
    pupil = f.student()
    opened, other_day = f.lesson("2025-09-10"), f.lesson("2025-09-11")
    times = ("2025-09-20T08:59:59", "2025-09-20T09:00:00", "2025-09-20T21:00:00",
             "2025-09-20T21:00:01")  # fmt: skip
    inside = []
    for when in times:
        task = f.assignment(opened, 3, "ДЗ")  # no type rule: the 7-day lock only (R08)
        f.mark(task, pupil, when)
        inside.append(task)
    elsewhere = f.assignment(other_day, 3, "ДЗ")
    f.mark(elsewhere, pupil, "2025-09-20T10:00:00")
    written = f.assignment(opened, 5, "Самостоятельная работа")
    f.mark(written, pupil, "2025-09-20T10:00:00")
    register = tmp_path / "unlocks.csv"
    register.write_text(
        "id,date,start,teacher,class,subject\n"
        "u1,2025-09-10,2025-09-20T09:00:00,Петрова Мария Ивановна,5а,Математика\n",
        encoding="utf-8",
    )
    settings = parse_rule_settings({"unlock_register": str(register)})
    result = check(f.db, settings, dt.date(2025, 9, 25), ["R06", "R08"], now=NOW)
    got = sorted((x.rule, x.assignment_id, x.status, x.excused_by) for x in result.findings)
    assert got == [
        ("R06", written, "new", None),  # the unlock is for the 7-day lock, not the 5-day rule
        ("R08", inside[0], "new", None),
        ("R08", inside[1], "excused", "u1"),
        ("R08", inside[2], "excused", "u1"),
        ("R08", inside[3], "new", None),
        ("R08", elsewhere, "new", None),  # another date was not opened
    ]


# --- 7. school days: the production calendar and the school's week -------------------------------
def test_c4_school_days_skip_holidays_and_follow_the_week():
    f = MirrorFactory()
    pupil = f.student()
    lesson = f.lesson("2026-03-06")  # Friday; 8 March is a Sunday, so 9 March is a day off
    on_time = f.assignment(lesson, 5, "Самостоятельная работа")
    f.mark(on_time, pupil, "2026-03-16T10:00:00")
    school = {"day_kind": "school"}
    assert remarks(f, "2026-03-20", "R06", **school) == []
    # a six-day school counts the Saturday: five school days end on Friday 13 March
    assert remarks(f, "2026-03-20", "R06", week=6, **school) == [
        ("R06", (on_time, pupil), "subject_teacher", f.teacher_id, "2026-03-13", "regulation")
    ]


def test_c4_a_transferred_working_saturday_is_a_school_day():
    f = MirrorFactory()
    f.db["vacations"].delete(1)
    pupil = f.student()
    lesson = f.lesson("2025-10-31")  # Friday; Saturday 1 November 2025 was a working day
    task = f.assignment(lesson, 10, "Ответ на уроке")
    f.mark(task, pupil, "2025-11-03T10:00:00")
    assert remarks(f, "2025-11-10", "R05", day_kind="school", oral_days=1) == [
        ("R05", (task, pupil), "subject_teacher", f.teacher_id, "2025-11-01", "setting")
    ]


# --- 8. each deadline labelled by its source ------------------------------------------------------
def test_8_deadlines_say_whether_the_regulation_or_the_school_set_them():
    sources = {r.id: (r.deadline_source, r.deadline_setting) for r in RULES_BY_ID.values()}
    assert sources["R01"] == ("setting", "topic_days")  # the text gives no number of days
    assert sources["R04"] == ("setting", "att_days")
    assert sources["R12"] == ("setting", "reason_days")
    assert sources["R06"] == ("regulation", "written_days")
    assert sources["R08"] == ("regulation", "mark_days")
    assert sources["R13"] == ("regulation", "final_offset_days")
    assert deadline_label(RULES_BY_ID["R06"]) == "Регламент, учитель п. 5"
    assert deadline_label(RULES_BY_ID["R12"]) == "по настройке школы ([rules] reason_days)"
    assert deadline_label(RULES_BY_ID["R13"], "setting") == (
        "по настройке школы ([rules] final_offset_days, order_deadline)"
    )
    assert deadline_label(RULES_BY_ID["R10"]) == "срок не установлен"
    assert RULES_BY_ID["R14"].clause == ""
    assert RULES_BY_ID["R13"].title.startswith("Итоговая оценка")
    # a school that changes the text's five days owns that deadline
    f = MirrorFactory()
    pupil = f.student()
    task = f.assignment(f.lesson("2025-09-10"), 5, "Самостоятельная работа")
    f.mark(task, pupil, "2025-09-15T10:00:00")
    assert remarks(f, "2025-09-20", "R06", written_days=4) == [
        ("R06", (task, pupil), "subject_teacher", f.teacher_id, "2025-09-14", "setting")
    ]


# --- 9. corrections ------------------------------------------------------------------------------
def test_9_a_mark_deleted_and_entered_again_is_a_new_entry():
    f = MirrorFactory()
    pupil = f.student()
    task = f.assignment(f.lesson("2025-09-10"), 3, "ДЗ")
    runs = [("2025-09-10T16:00:00+00:00", "2025-09-10T20:00:00"),
            ("2025-09-11T16:00:00+00:00", "2025-09-11T20:00:00"),
            ("2025-09-25T16:00:00+00:00", "2025-09-25T20:00:00")]  # fmt: skip
    for n, (utc, _local) in enumerate(runs, start=1):
        f.db["sync_runs"].insert({"id": n, "started_at": utc, "finished_at": utc, "status": "ok"})
    mark = {"assignment_id": task, "student_id": pupil, "lesson_id": None, "mark": "5"}

    def save(n: int, marks: list[dict]) -> None:
        utc, local = runs[n - 1]
        clock = RunClock(n, utc, local, runs[n - 2][1] if n > 1 else None)
        with f.db.conn:
            save_table(f.db, "marks", marks, clock)

    save(1, [mark])
    save(2, [])  # deleted
    save(3, [mark])  # entered again two weeks later, the portal giving no date
    row = f.db.execute("SELECT entered_at, entered_source, last_absent_at FROM marks").fetchone()
    assert row == ("2025-09-25T20:00:00", "observed", "2025-09-11T20:00:00")
    assert remarks(f, "2025-09-26", "R08") == [
        ("R08", (task, pupil), "subject_teacher", f.teacher_id, "2025-09-17", "regulation")
    ]


def test_7_4_changes_after_the_lock_or_the_period_end_are_r24():
    f = MirrorFactory()
    pupil, absent, ill, closed = (f.student() for _ in range(4))
    lesson = f.lesson("2025-09-10")
    task = f.assignment(lesson, 10, "Ответ")
    f.mark(task, pupil, "2025-09-10T15:00:00", mark="4")
    f.absence(lesson, absent, "Н")
    f.absence(lesson, ill, "УП")
    f.period_mark(closed, 1, "2025-10-20T10:00:00")
    runs = [
        f.sync_run(f"{day}T16:00:00+00:00")  # 20:00 in Samara
        for day in ("2025-09-12", "2025-09-16", "2025-09-20", "2025-09-30", "2025-10-27")
    ]
    after_term = f.sync_run("2025-10-30T16:00:00+00:00")
    f.change(runs[1], "marks", [task, pupil], column="mark", old="3", new="4")  # before the lock
    f.change(runs[2], "marks", [task, pupil], column="mark", old="4", new="5")
    f.change(runs[3], "attendance", [lesson, absent], column="reason", old="Н", new="УП")
    f.change(runs[3], "attendance", [lesson, ill], kind="delete")
    f.change(after_term, "period_marks", [f.sg_id, 1, closed], column="mark", old="4", new="5")
    result = evaluate(f.db, parse_rule_settings({}), dt.date(2025, 11, 1), ["R24"])
    got = sorted(
        (
            repr(x.key),
            x.addressee,
            x.teacher_id,
            x.deadline,
            x.deadline_source,
            x.entered_at,
            x.certainty,
        )
        for x in result.findings
    )
    sg, t = f.sg_id, f.teacher_id
    assert got == [
        (
            repr((task, lesson, sg, None, pupil)),
            "subject_teacher",
            t,
            "2025-09-17",
            "regulation",
            "2025-09-20T20:00:00",
            "possible",  # the previous sync (16 Sep) ran before the lock
        ),
        (
            repr((None, lesson, sg, None, ill)),
            "subject_teacher",
            t,
            "2025-09-17",
            "regulation",
            "2025-09-30T20:00:00",
            "certain",
        ),
        (
            repr((None, None, sg, 1, closed)),
            "subject_teacher",
            t,
            "2025-10-26",
            "regulation",
            "2025-10-30T20:00:00",
            "certain",
        ),
    ]
    # the class teacher's «Н» → «УП» is no correction of the record (п. 7.3)
    assert absent not in {x.student_id for x in result.findings}
    certain = parse_rule_settings({"evidence": "certain"})
    assert len(evaluate(f.db, certain, dt.date(2025, 11, 1), ["R24"]).findings) == 2


# --- Z-1: remarks left unfixed ------------------------------------------------------------------
def test_z1_remarks_past_their_fix_by_date_are_escalated_per_teacher():
    f = MirrorFactory()
    f.lesson("2025-09-10", topic=None)
    fixed_later = f.lesson("2025-09-11", homework=None)
    settings = parse_rule_settings({})
    check(f.db, settings, dt.date(2025, 9, 15), ["R01", "R02"], now=NOW)
    f.assignment(fixed_later, 3, "№ 5", entered_at="2025-09-20T10:00:00")
    check(f.db, settings, dt.date(2025, 10, 20), ["R01", "R02"], now=NOW)
    assert fix_by("2025-09-15", settings) == dt.date(2025, 10, 15)
    overdue = overdue_remarks(f.db, dt.date(2025, 10, 20), settings)
    assert [(r["rule"], r["fix_by"], r["days_overdue"], r["teacher_id"]) for r in overdue] == [
        ("R01", "2025-10-15", 5, f.teacher_id),
        ("R02", "2025-10-15", 5, f.teacher_id),  # homework entered late is still a remark
    ]
    assert overdue_per_teacher(f.db, dt.date(2025, 10, 20), settings) == {f.teacher_id: 2}
    assert overdue_per_teacher(f.db, dt.date(2025, 10, 15), settings) == {}


# --- 7.4: КЭС in the КТП ------------------------------------------------------------------------
def test_7_4_kes_checked_where_the_plan_carries_them():
    f = MirrorFactory()
    f.plan(created_date="2025-06-01")
    with_kes = f.plan_lesson(f.sg_id, "Натуральные числа", kes="1.1")
    without = f.plan_lesson(f.sg_id, "Дроби", kes=None)
    result = evaluate(f.db, parse_rule_settings({}), dt.date(2025, 9, 10), ["R17"])
    assert [(x.key, x.detail) for x in result.findings] == [((without,), "Урок КТП: нет КЭС")]
    assert with_kes
    assert not [n for n in result.notices if n["rule"] == "R17"]


def test_7_4_kes_not_checkable_where_no_plan_carries_them():
    f = MirrorFactory()
    f.plan(created_date="2025-06-01", lessons=[("Натуральные числа", 1, None, "§1")])
    result = evaluate(f.db, parse_rule_settings({}), dt.date(2025, 9, 10), ["R17"])
    assert result.findings == []
    assert [n for n in result.notices if n["rule"] == "R17"] == [
        {
            "rule": "R17",
            "text": "КЭС (кодификаторы элементов содержания) в КТП не проверяются: "
            "портал не передаёт их в планировании уроков",
        }
    ]
