"""How the ground truth reads the rule table where the table leaves room (docs/design.md,
"How the rules read the table"): hand-built schools for each reading, the edge cases the `small`
school holds for them, and the rules agreeing with the truth at the dates where they matter."""

from __future__ import annotations

import datetime as dt

import pytest

from asurso_sync.simulator import ground_truth
from asurso_sync.simulator import names as N
from asurso_sync.simulator.calendar import build_calendar
from asurso_sync.simulator.model import (
    Assignment,
    Group,
    Klass,
    Lesson,
    PeriodMark,
    Plan,
    PlanLesson,
    School,
    Staff,
    Student,
    Subject,
)
from asurso_sync.simulator.truth import truth_key

T1, T2, T3, T4 = 26901, 26902, 26903, 26904
D = dt.date(2025, 10, 1)  # a Wednesday of term 1
DAY = dt.timedelta(days=1)


def tiny_school() -> School:
    """One class 5а of one pupil (listed 25 Aug, health group filled), one maths group with a
    КТП made in June; the tests add what each reading needs."""
    s = School("tiny", 0, 2025, 1, "Школа", "Школа", build_calendar(2025))
    s.subjects[1] = Subject(1, "Математика", "Матем.")
    s.staff[1001] = Staff(1001, "Иванова Анна Петровна", "Учитель")
    s.classes[101] = Klass(101, "5а", 5, "а", 1001)
    s.students[5001] = Student(5001, "Петров Пётр Петрович", 101, "2025-08-25T10:00:00", True)
    s.groups[1201] = Group(1201, "5а/Математика", 1, 101, (1001,), 0, (5001,))
    s.plans[1201] = Plan(8201, 1201, "2025-06-10T10:00:00", [])
    return s


def add_lesson(s: School, lesson_id: int, day: dt.date = D, sg_id: int = 1201) -> Lesson:
    term = s.calendar.term_of(day)
    lesson = Lesson(lesson_id, sg_id, s.groups[sg_id].class_id, day, 1, term.id, None)
    s.lessons[lesson.id] = lesson
    return lesson


def add_task(s: School, lesson: Lesson, type_id: int, name: str, days_late: int = 0) -> None:
    created = f"{(lesson.date + days_late * DAY).isoformat()}T15:00:00"
    a_id = 300001 + len(s.assignments)
    s.assignments[a_id] = Assignment(a_id, lesson.id, type_id, name, 10, lesson.date, created)


def keys(s: School, as_of: dt.date, rule: str) -> set[tuple]:
    s.index()
    return {truth_key(v) for v in ground_truth(s, as_of)["violations"] if v["rule"] == rule}


def items(s: School, as_of: dt.date, rule: str) -> list[tuple]:
    s.index()
    return [
        (truth_key(v), v["severity"], v["deadline"])
        for v in ground_truth(s, as_of)["violations"]
        if v["rule"] == rule
    ]


def test_r01_a_named_topic_on_time_is_enough_beside_a_late_one():
    s = tiny_school()
    on_time_and_late = add_lesson(s, 90001)
    add_task(s, on_time_and_late, 10, "Дроби")
    add_task(s, on_time_and_late, 10, "Работа над ошибками", days_late=2)
    late_only = add_lesson(s, 90002)
    add_task(s, late_only, 10, "Дроби", days_late=2)
    placeholder_then_late_name = add_lesson(s, 90003)
    add_task(s, placeholder_then_late_name, 10, N.PLACEHOLDER)
    add_task(s, placeholder_then_late_name, 10, "Дроби", days_late=1)
    unnamed_late_beside_on_time = add_lesson(s, 90004)
    add_task(s, unnamed_late_beside_on_time, 10, "Дроби")
    add_task(s, unnamed_late_beside_on_time, 10, "", days_late=3)
    assert keys(s, D + 10 * DAY, "R01") == {("R01", 90002), ("R01", 90003)}
    assert keys(s, D, "R01") == set()  # the deadline (end of D) has not passed
    # from D + 1 the topic is missing until its late entry, then late: a breach either way
    assert keys(s, D + DAY, "R01") == {("R01", 90002), ("R01", 90003)}


def test_r02_homework_needs_a_name():
    s = tiny_school()
    for lesson_id, name, late in (
        (90001, "§ 5, № 12", 0),
        (90002, "", 0),
        (90003, N.PLACEHOLDER, 0),
        (90004, "   ", 0),
        (90005, "§ 5, № 12", 1),
    ):
        lesson = add_lesson(s, lesson_id)
        add_task(s, lesson, 10, "Дроби")
        add_task(s, lesson, 3, name, days_late=late)
    unnamed_and_named = add_lesson(s, 90006)
    add_task(s, unnamed_and_named, 3, "")
    add_task(s, unnamed_and_named, 3, "Упр. 7")
    expected = {("R02", 90002), ("R02", 90003), ("R02", 90004), ("R02", 90005)}
    assert keys(s, D + 5 * DAY, "R02") == expected
    # an empty-named homework is still homework-typed: no task is missing (R03)
    assert keys(s, D + 5 * DAY, "R03") == {("R03", 90006)}


def _no_period_marks_with_lag(term_ids: tuple[int, ...]) -> School:
    """A group taught in `term_ids` (() = all) whose КТП plans one lesson per week of terms 1–2
    and which did not hold the last planned lesson of term 2; no period marks at all."""
    s = tiny_school()
    s.groups[1201].term_ids = term_ids
    cal = s.calendar
    days = [d for d in cal.study_days() if d.weekday() == 2 and d <= cal.terms[1].end]
    s.plans[1201].lessons = [
        PlanLesson(700001 + i, f"Урок {i + 1}", 1, day, "Упр. 1") for i, day in enumerate(days)
    ]
    s.groups[1201].hours = len(days)
    for i, day in enumerate(days[:-1]):
        lesson = add_lesson(s, 90001 + i, day)
        add_task(s, lesson, 10, f"Урок {i + 1}")
        add_task(s, lesson, 3, "Упр. 1")
    return s


def test_r13_r18_use_the_terms_of_the_group():
    as_of = dt.date(2026, 4, 10)  # terms 1–3 ended, term 4 running
    half_year = _no_period_marks_with_lag((T1, T2))
    assert keys(half_year, as_of, "R13") == {
        ("R13", 1201, T1, 5001),
        ("R13", 1201, T2, 5001),
    }
    assert keys(half_year, as_of, "R18") == {("R18", 1201, T2)}
    whole_year = _no_period_marks_with_lag(())
    assert keys(whole_year, as_of, "R13") == {
        ("R13", 1201, T1, 5001),
        ("R13", 1201, T2, 5001),
        ("R13", 1201, T3, 5001),
    }
    # the lag of term 2 still counts at the end of term 3 (cumulative plan vs lessons held)
    assert keys(whole_year, as_of, "R18") == {("R18", 1201, T2), ("R18", 1201, T3)}
    # a period mark of the group's own term clears it; one of a foreign term is not read
    half_year.period_marks.append(PeriodMark(1201, T1, 5001, "2025-10-20T12:00:00", "5"))
    half_year.period_marks.append(PeriodMark(1201, T3, 5001, "2026-03-10T12:00:00", "5"))
    assert keys(half_year, as_of, "R13") == {("R13", 1201, T2, 5001)}


def test_r15_a_missing_ktp_is_warned_over_the_summer():
    s = tiny_school()
    del s.plans[1201]
    warning = [(("R15", 1201), "warning", "2025-06-26")]
    violation = [(("R15", 1201), "violation", "2025-08-31")]
    assert items(s, dt.date(2025, 6, 26), "R15") == []
    assert items(s, dt.date(2025, 6, 27), "R15") == warning
    assert items(s, dt.date(2025, 8, 31), "R15") == warning
    assert items(s, dt.date(2025, 9, 1), "R15") == violation
    # a plan made in July: "missing" (warned) until it appears, then warned as made late
    s.plans[1201] = Plan(8201, 1201, "2025-07-20T10:00:00", [])
    assert items(s, dt.date(2025, 7, 10), "R15") == warning
    assert items(s, dt.date(2025, 7, 20), "R15") == warning
    assert items(s, dt.date(2025, 9, 20), "R15") == warning
    s.plans[1201].created = "2025-09-02T10:00:00"
    assert items(s, dt.date(2025, 9, 1), "R15") == violation
    assert items(s, dt.date(2025, 9, 2), "R15") == violation


def test_r21_applies_after_5_september_and_counts_an_empty_class():
    s = tiny_school()
    s.students[5001].health_filled = False
    s.classes[102] = Klass(102, "5б", 5, "б", 1001)  # no pupils at all
    s.classes[103] = Klass(103, "5в", 5, "в", 1001)  # every pupil listed after 5 Sep
    s.students[5002] = Student(5002, "Сидорова Анна Ивановна", 103, "2025-09-08T10:00:00", True)
    s.students[5003] = Student(5003, "Котов Иван Олегович", 101, "2025-09-04T10:00:00", False)
    assert keys(s, dt.date(2025, 9, 5), "R21") == set()
    assert keys(s, dt.date(2025, 9, 6), "R21") == {
        ("R21", 101, 5001),
        ("R21", 101, 5003),
        ("R21", 102, None),
        ("R21", 103, None),  # its only pupil is not even listed yet
    }
    assert ("R21", 103, None) in keys(s, dt.date(2025, 9, 10), "R21")


# --- the `small` school holds each case --------------------------------------------------------
AS_OF = dt.date(2026, 5, 20)


def test_small_holds_a_late_second_topic_beside_an_on_time_one(small_school):
    s = small_school
    by_lesson: dict[int, list[Assignment]] = {}
    for a in s.assignments.values():
        if a.type_id == 10:
            by_lesson.setdefault(a.lesson_id, []).append(a)
    cases = [
        lesson_id
        for lesson_id, topics in by_lesson.items()
        if any(
            a.name != N.PLACEHOLDER and a.created[:10] <= s.lessons[lesson_id].date.isoformat()
            for a in topics
        )
        and any(a.created[:10] > s.lessons[lesson_id].date.isoformat() for a in topics)
    ]
    assert cases
    r01 = {k[1] for k in keys(s, AS_OF, "R01")}
    assert not r01 & set(cases)


def test_small_holds_homework_without_a_name(small_school):
    s = small_school
    unnamed = {
        a.lesson_id: a.name
        for a in s.assignments.values()
        if a.type_id == 3 and (not a.name.strip() or a.name == N.PLACEHOLDER)
    }
    assert sorted(unnamed.values()) == ["", N.PLACEHOLDER]
    r02 = {k[1] for k in keys(s, AS_OF, "R02")}
    assert set(unnamed) <= r02


def test_small_holds_a_half_year_group(small_school):
    s = small_school
    half = [g for g in s.groups.values() if g.term_ids]
    assert [(g.name, g.term_ids) for g in half] == [
        ("5а/Информатика", (T1, T2)),
        ("5а/Информатика", (T3, T4)),  # the second half-year: no subgroup of the first
    ]
    assert {
        k for k in keys(s, AS_OF, "R19") if k[1:3] == (half[0].class_id, half[0].subject_id)
    } == set()
    assert {k for k in keys(s, AS_OF, "R15") if k[1] == half[1].id} == set()  # opened mid-year
    g = half[0]
    assert {le.term_id for le in s.lessons.values() if le.sg_id == g.id} == {T1, T2}
    r13 = {k for k in keys(s, AS_OF, "R13") if k[1] == g.id}
    r18 = {k for k in keys(s, AS_OF, "R18") if k[1] == g.id}
    assert r13 == set()  # marked on time in its terms; terms 3–4 are not its own
    assert r18 == {("R18", g.id, T2)}  # one lesson of term 2 not held; no R18 for term 3


def test_small_holds_an_empty_class_and_an_early_listed_pupil_without_health_group(
    small_school,
):
    s = small_school
    empty = [k.id for k in s.classes.values() if not s.students_by_class.get(k.id)]
    assert empty == s.info["empty_classes"] == [103]
    assert ("R21", 103, None) in keys(s, AS_OF, "R21")
    assert ("R20", 103) in keys(s, AS_OF, "R20")
    early_unfilled = [
        st.id for st in s.students.values() if not st.health_filled and st.added < "2025-09-05T24"
    ]
    assert early_unfilled
    assert keys(s, dt.date(2025, 9, 3), "R21") == set()
    on_sep_6 = keys(s, dt.date(2025, 9, 6), "R21")
    assert {("R21", s.students[sid].class_id, sid) for sid in early_unfilled} <= on_sep_6


def test_small_warns_of_missing_ktp_over_the_summer(small_school):
    s = small_school
    summer = dt.date(2025, 8, 15)
    without_plan = {
        g.id
        for g in s.groups.values()
        if (g.id not in s.plans or s.plans[g.id].created > "2025-08-16")
        and g.term_ids[:1] in ((), (T1,))  # a group opened mid-year is not due by 31 August
    }
    assert without_plan
    found = items(s, summer, "R15")
    assert {k[1] for k, sev, _ in found if sev == "warning"} >= without_plan
    assert all(sev == "warning" for _k, sev, _d in found)


# --- the rules agree with the truth where the readings matter ----------------------------------
@pytest.mark.parametrize("as_of", ["2025-08-15", "2025-09-03", "2025-09-10"])
def test_rules_match_the_truth_early_in_the_year(small_school, tmp_path, as_of):
    """Summer (R15 warnings for missing КТП), before 5 Sep (no R21), just after it."""
    from asurso_sync.demo import sync_simulator
    from asurso_sync.mirror.db import open_mirror
    from asurso_sync.rules import RULES_BY_ID, evaluate, parse_rule_settings

    day = dt.date.fromisoformat(as_of)
    path = tmp_path / "asurso.db"
    sync_simulator(path, small_school, day, full=True)
    db = open_mirror(path)
    try:
        found = {(f.rule, *f.key) for f in evaluate(db, parse_rule_settings({}), day).findings}
    finally:
        db.close()
    truth = {
        (v["rule"], *(v[k] for k in RULES_BY_ID[v["rule"]].key_fields))
        for v in ground_truth(small_school, day)["violations"]
    }
    assert found == truth
    assert truth  # something to agree on
