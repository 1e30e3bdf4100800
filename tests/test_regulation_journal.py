"""The Положение's duties of the subject and class teacher, one scenario per clause.

Each test builds a mirror with the factory and asserts the exact findings as a deputy director
would hand them over: rule, key, addressee (role and teacher), deadline and its source.
"""

from __future__ import annotations

import datetime as dt

from mirror_factory import MirrorFactory

from asurso_sync.rules import evaluate, parse_rule_settings


def remarks(f: MirrorFactory, as_of: str, rule: str, **config) -> list[tuple]:
    """(rule, key, addressee, teacher_id, deadline, deadline_source) of every finding."""
    result = evaluate(f.db, parse_rule_settings(config), dt.date.fromisoformat(as_of), [rule])
    return sorted(
        (x.rule, x.key, x.addressee, x.teacher_id, x.deadline, x.deadline_source)
        for x in result.findings
    )


# --- 1. T-10: period marks for the pupils taught in the period ------------------------------
def test_t10_period_marks_owed_only_by_pupils_listed_by_the_deadline():
    f = MirrorFactory()
    there = f.student(added_date="2025-08-30")
    marked = f.student(added_date="2025-08-30")
    joined_last_days = f.student(added_date="2025-10-24")  # after the deadline of 23 Oct
    joined_after_term = f.student(added_date="2025-11-10")
    f.period_mark(marked, 1, "2025-10-22T10:00:00")
    assert remarks(f, "2025-10-30", "R13") == [
        ("R13", (f.sg_id, 1, there), "subject_teacher", f.teacher_id, "2025-10-23", "regulation")
    ]
    # a school order (7.4 «приказ по школе») is the school's deadline, not the text's
    order = {"order_deadline": {"1 четверть": "2025-10-20"}}
    assert remarks(f, "2025-10-30", "R13", **order) == [
        ("R13", (f.sg_id, 1, there), "subject_teacher", f.teacher_id, "2025-10-20", "setting"),
        ("R13", (f.sg_id, 1, marked), "subject_teacher", f.teacher_id, "2025-10-20", "setting"),
    ]
    assert joined_last_days and joined_after_term


def test_t10_the_terms_journal_lists_who_owes_its_period_mark():
    """Without `added_date` (the real portal's list), the term's own journal decides."""
    f = MirrorFactory()
    stayed = f.student(added_date=None)
    left_after_term_1 = f.student(added_date=None)
    came_in_term_2 = f.student(added_date=None)
    f.term_journal(1, [stayed, left_after_term_1])
    f.term_journal(2, [stayed, came_in_term_2])
    assert remarks(f, "2025-12-30", "R13") == [
        ("R13", (f.sg_id, 1, stayed), "subject_teacher", f.teacher_id, "2025-10-23", "regulation"),
        (
            "R13",
            (f.sg_id, 1, left_after_term_1),
            "subject_teacher",
            f.teacher_id,
            "2025-10-23",
            "regulation",
        ),
        ("R13", (f.sg_id, 2, stayed), "subject_teacher", f.teacher_id, "2025-12-25", "regulation"),
        (
            "R13",
            (f.sg_id, 2, came_in_term_2),
            "subject_teacher",
            f.teacher_id,
            "2025-12-25",
            "regulation",
        ),
    ]


def test_7_4_year_and_final_marks_three_days_before_the_year_period_ends():
    f = MirrorFactory()
    f.insert(
        "terms",
        id=5,
        year_id=2025,
        name="Год",
        term_type_id=5,
        start_date="2025-09-01",
        end_date="2026-05-25",
    )
    pupil, marked = f.student(), f.student()
    for term in (1, 2, 3, 4):
        for who in (pupil, marked):
            f.period_mark(who, term, "2025-09-20T10:00:00")
    f.period_mark(marked, 5, "2026-05-20T10:00:00")
    assert remarks(f, "2026-05-23", "R13") == [
        ("R13", (f.sg_id, 5, pupil), "subject_teacher", f.teacher_id, "2026-05-22", "regulation")
    ]


# --- 2. 7.3 / KR-2: a reason entered later is the class teacher's -------------------------
def test_7_3_reason_entered_later_is_the_class_teachers_not_a_late_absence():
    f = MirrorFactory()
    late_h, reason_later, was_h, no_reason = (f.student() for _ in range(4))
    lesson = f.lesson("2025-09-10")
    f.absence(lesson, late_h, "Н", entered_at="2025-09-12T09:00:00")
    f.absence(lesson, reason_later, "УП", entered_at="2025-09-12T09:00:00")
    f.absence(lesson, was_h, "УП", entered_at="2025-09-12T09:00:00")
    f.absence(lesson, no_reason, "Н")
    run = f.sync_run("2025-09-13T10:00:00+00:00")
    f.change(run, "attendance", [lesson, was_h], column="reason", old="Н", new="УП")
    assert remarks(f, "2025-09-20", "R04") == [
        ("R04", (lesson, late_h), "subject_teacher", f.teacher_id, "2025-09-10", "setting"),
        ("R04", (lesson, was_h), "subject_teacher", f.teacher_id, "2025-09-10", "setting"),
    ]
    # the «Н» still without УП/НП a week later goes to the class teacher; the text sets no
    # deadline for it, so the deadline is the school's setting
    assert remarks(f, "2025-09-20", "R12") == [
        ("R12", (lesson, late_h), "class_teacher", f.class_teacher_id, "2025-09-17", "setting"),
        ("R12", (lesson, no_reason), "class_teacher", f.class_teacher_id, "2025-09-17", "setting"),
    ]


# --- 3, 4. T-2: subgroups run in the same term; the subject teacher divides the class ------
def test_t2_half_year_groups_one_after_the_other_are_not_subgroups():
    f = MirrorFactory()
    informatics = f.subject("Информатика")
    first = f.group(f.class_id, informatics, teacher_id=f.teacher_id, terms=(1, 2))
    second = f.group(f.class_id, informatics, teacher_id=f.teacher_id, terms=(3, 4))
    for _ in range(3):
        f.student(member_of=[first, second])
    assert remarks(f, "2025-09-20", "R19") == []


def test_t2_subgroups_of_one_term_go_to_the_subject_teacher():
    f = MirrorFactory()
    english = f.subject("Английский язык")
    one_teacher, other_teacher = f.teacher("Орлова Ольга Олеговна"), f.teacher("Лис Лев Львович")
    g1 = f.group(f.class_id, english, teacher_id=one_teacher)
    g2 = f.group(f.class_id, english, teacher_id=other_teacher)
    f.student(member_of=[g1])
    f.student(member_of=[g2])
    nowhere = f.student(member_of=[])
    both = f.student(member_of=[g1, g2])
    assert remarks(f, "2025-09-20", "R19") == [
        ("R19", (f.class_id, english, nowhere), "subject_teacher", one_teacher, None, "none"),
        ("R19", (f.class_id, english, both), "subject_teacher", one_teacher, None, "none"),
    ]


def test_7_5_timetable_of_the_first_week_is_the_deputy_directors():
    f = MirrorFactory()
    other = f.klass("5б", teacher_id=f.teacher("Белова Вера Павловна"))
    f.lesson("2025-09-02")
    assert remarks(f, "2025-09-10", "R20") == [
        ("R20", (other,), "deputy_director", None, "2025-09-07", "regulation")
    ]


# --- 6. Регламент, учитель п. 7: «Не допускаются пометки «осв»» ------------------------------
def test_t7_osv_in_any_case_in_absences_marks_and_period_marks():
    f = MirrorFactory()
    lower, upper, marked, period, ill = (f.student() for _ in range(5))
    lesson = f.lesson("2025-09-10")
    f.absence(lesson, lower, "осв")
    f.absence(lesson, upper, "ОСВ")
    f.absence(lesson, ill, "Б")
    task = f.assignment(lesson, 10, "Ответ")
    f.mark(task, marked, "2025-09-10T15:00:00", mark="осв")
    f.period_mark(period, 1, "2025-10-20T10:00:00", mark="Осв")
    result = evaluate(f.db, parse_rule_settings({}), dt.date(2025, 11, 1), ["R11"])
    got = {(x.key, x.severity, x.teacher_id) for x in result.findings}
    sg, t = f.sg_id, f.teacher_id
    assert got == {
        ((None, None, sg, 1, period), "violation", t),
        ((lesson, None, sg, None, lower), "violation", t),
        ((lesson, None, sg, None, upper), "violation", t),
        ((lesson, None, sg, None, ill), "warning", t),  # «Б» is not in the text's list
        ((lesson, task, sg, None, marked), "violation", t),
    }
    # «Б» is a reason only where the school says so
    with_b = parse_rule_settings({"codes": {"reasons": ["УП", "НП", "Б"]}})
    keys = {x.key for x in evaluate(f.db, with_b, dt.date(2025, 11, 1), ["R11"]).findings}
    assert (lesson, None, sg, None, ill) not in keys
    assert len(keys) == 4


# --- 10. one late entry, one remark; R15 and groups opened mid-year --------------------------
def test_t5_late_written_work_is_one_remark_under_r06_not_again_under_r08():
    f = MirrorFactory()
    pupil = f.student()
    lesson = f.lesson("2025-09-10")
    essay = f.assignment(lesson, 7, "Диктант")
    f.mark(essay, pupil, "2025-09-20T10:00:00")  # 10 days late: past 5 days and the lock
    both = [
        *remarks(f, "2025-09-25", "R06"),
        *remarks(f, "2025-09-25", "R08"),
    ]
    assert both == [
        ("R06", (essay, pupil), "subject_teacher", f.teacher_id, "2025-09-15", "regulation")
    ]


def test_c12_r08_counts_from_the_due_date_as_r06_does():
    f = MirrorFactory()
    pupil = f.student()
    lesson = f.lesson("2025-09-10")
    essay = f.assignment(lesson, 7, "Диктант")
    f.db["assignments"].update(essay, {"due_date": "2025-09-15"})
    f.mark(essay, pupil, "2025-09-19T10:00:00")  # 9 days after the lesson, 4 after the due day
    due = {"written_anchor": "due_date"}
    assert remarks(f, "2025-09-25", "R06", **due) == []
    assert remarks(f, "2025-09-25", "R08", **due) == []
    assert remarks(f, "2025-09-25", "R06") == [
        ("R06", (essay, pupil), "subject_teacher", f.teacher_id, "2025-09-15", "regulation")
    ]


def test_7_4_ktp_by_31_august_not_for_a_group_opened_mid_year():
    f = MirrorFactory()
    informatics = f.subject("Информатика")
    f.group(f.class_id, informatics, teacher_id=f.teacher_id, terms=(3, 4))
    assert remarks(f, "2025-09-10", "R15") == [
        ("R15", (f.sg_id,), "subject_teacher", f.teacher_id, "2025-08-31", "regulation")
    ]


# --- T-11: the teacher who held the lesson ------------------------------------------------------
def test_t11_a_substitute_teacher_answers_for_the_lesson_held():
    f = MirrorFactory()
    substitute = f.teacher("Замена Зоя Захаровна")
    own = f.lesson("2025-09-10", topic=None)
    covered = f.lesson("2025-09-11", topic=None, teacher_id=substitute)
    assert remarks(f, "2025-09-20", "R01") == [
        ("R01", (own,), "subject_teacher", f.teacher_id, "2025-09-10", "setting"),
        ("R01", (covered,), "subject_teacher", substitute, "2025-09-11", "setting"),
    ]


# --- 7.4 «все записи … на русском языке» ---------------------------------------------------------
def test_7_4_journal_topics_and_homework_in_russian():
    f = MirrorFactory()
    russian = f.lesson("2025-09-10", topic="Present Simple: утвердительные предложения")
    numbers = f.lesson("2025-09-11", homework="№ 12, 15")
    english_topic = f.lesson("2025-09-12", topic="Present Simple")
    english_task = f.lesson("2025-09-15", homework="p. 45 ex. 3")
    result = evaluate(f.db, parse_rule_settings({}), dt.date(2025, 9, 20), ["R25"])
    assert sorted((x.key, x.addressee, x.teacher_id, x.detail) for x in result.findings) == [
        (
            (english_topic,),
            "subject_teacher",
            f.teacher_id,
            "Не на русском языке: тема «Present Simple»",
        ),
        (
            (english_task,),
            "subject_teacher",
            f.teacher_id,
            "Не на русском языке: домашнее задание «p. 45 ex. 3»",
        ),
    ]
    assert russian and numbers
