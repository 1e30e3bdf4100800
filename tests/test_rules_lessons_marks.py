"""R01–R12 at their boundaries, over hand-built mirrors (tests/mirror_factory.py)."""

from __future__ import annotations

import datetime as dt

from mirror_factory import MirrorFactory

from asurso_sync.rules import evaluate, parse_rule_settings


def keys(f: MirrorFactory, as_of: str, rule: str, **config) -> set[tuple]:
    result = evaluate(f.db, parse_rule_settings(config), dt.date.fromisoformat(as_of), [rule])
    return {x.key for x in result.findings}


def findings(f: MirrorFactory, as_of: str, rule: str, **config):
    result = evaluate(f.db, parse_rule_settings(config), dt.date.fromisoformat(as_of), [rule])
    return result.findings


# --- R01 topic -----------------------------------------------------------------------------
def test_r01_missing_topic_only_after_the_deadline_day():
    f = MirrorFactory()
    lesson = f.lesson("2025-09-10", topic=None)
    assert keys(f, "2025-09-10", "R01") == set()
    assert keys(f, "2025-09-11", "R01") == {(lesson,)}


def test_r01_topic_entered_at_the_end_of_the_day_is_on_time_next_second_late():
    f = MirrorFactory()
    on_time = f.lesson("2025-09-10", topic_at="2025-09-10T23:59:59")
    late = f.lesson("2025-09-10", topic_at="2025-09-11T00:00:01")
    assert keys(f, "2025-09-20", "R01") == {(late,)}
    row = findings(f, "2025-09-20", "R01")[0]
    assert (
        row.lesson_id,
        row.deadline,
        row.entered_at,
        row.evidence,
        row.severity,
        row.class_id,
        row.subject_group_id,
        row.teacher_id,
    ) == (
        late,
        "2025-09-10",
        "2025-09-11T00:00:01",
        "portal",
        "violation",
        f.class_id,
        f.sg_id,
        f.teacher_id,
    )
    assert on_time not in {k[0] for k in keys(f, "2025-09-20", "R01")}


def test_r01_placeholder_topic_is_missing_and_grace_hours_move_the_deadline():
    f = MirrorFactory()
    placeholder = f.lesson("2025-09-10", topic=None)
    f.assignment(placeholder, 10, "---Не указана---")
    late = f.lesson("2025-09-10", topic_at="2025-09-11T01:00:00")
    assert keys(f, "2025-09-20", "R01") == {(placeholder,), (late,)}
    assert keys(f, "2025-09-20", "R01", grace_hours=2) == {(placeholder,)}


def test_r01_topic_days_setting():
    f = MirrorFactory()
    lesson = f.lesson("2025-09-10", topic_at="2025-09-12T10:00:00")
    assert keys(f, "2025-09-20", "R01") == {(lesson,)}
    assert keys(f, "2025-09-20", "R01", topic_days=2) == set()
    assert keys(f, "2025-09-20", "R01", topic_days=1) == {(lesson,)}


# --- R02 homework --------------------------------------------------------------------------
def test_r02_missing_late_and_exempt_subject():
    f = MirrorFactory()
    missing = f.lesson("2025-09-10", homework=None)
    late = f.lesson("2025-09-10", homework_at="2025-09-11T08:00:00")
    f.lesson("2025-09-10")
    pe = f.group(f.class_id, f.subject("Физическая культура"), teacher_id=f.teacher_id)
    f.lesson("2025-09-10", sg_id=pe, homework=None)
    assert keys(f, "2025-09-11", "R02", hw_exempt_subjects=["Физическая культура"]) == {
        (missing,),
        (late,),
    }
    assert len(keys(f, "2025-09-11", "R02")) == 3


def test_r02_exempt_table_and_min_share():
    f = MirrorFactory()
    missing = f.lesson("2025-09-10", homework=None)
    for day in ("2025-09-11", "2025-09-12", "2025-09-15"):
        f.lesson(day)
    assert keys(f, "2025-09-20", "R02") == {(missing,)}
    # 3 of 4 lessons have homework: 75 % ≥ 70 % → not flagged; < 80 % → flagged
    assert keys(f, "2025-09-20", "R02", hw_min_share=0.7) == set()
    assert keys(f, "2025-09-20", "R02", hw_min_share=0.8) == {(missing,)}
    exempt = [{"rule": "R02", "class": "5а"}]
    assert keys(f, "2025-09-20", "R02", exempt=exempt) == set()


# --- R03 task ------------------------------------------------------------------------------
def test_r03_no_non_homework_assignment_by_the_deadline():
    f = MirrorFactory()
    bare = f.lesson("2025-09-10", topic=None)
    with_written = f.lesson("2025-09-10", topic=None)
    f.assignment(with_written, 5, "СР")
    late_task = f.lesson("2025-09-10", topic_at="2025-09-12T09:00:00")
    assert keys(f, "2025-09-11", "R03") == {(bare,), (late_task,)}
    assert keys(f, "2025-09-10", "R03") == set()


# --- R04 attendance ------------------------------------------------------------------------
def test_r04_absence_entered_next_day_is_late():
    f = MirrorFactory()
    s1, s2 = f.student(), f.student()
    lesson = f.lesson("2025-09-10")
    f.absence(lesson, s1, entered_at="2025-09-10T23:59:59")
    f.absence(lesson, s2, entered_at="2025-09-11T00:00:00")
    assert keys(f, "2025-09-11", "R04") == {(lesson, s2)}
    assert keys(f, "2025-09-11", "R04", att_days=1) == set()


def test_r04_entries_after_the_as_of_date_are_not_seen():
    f = MirrorFactory()
    s1 = f.student()
    lesson = f.lesson("2025-09-10")
    f.absence(lesson, s1, entered_at="2025-09-12T10:00:00")
    assert keys(f, "2025-09-11", "R04") == set()
    assert keys(f, "2025-09-12", "R04") == {(lesson, s1)}


# --- R05–R08 mark deadlines ----------------------------------------------------------------
def _marked(f: MirrorFactory, type_id: int, entered: str, lesson_date="2025-09-10"):
    student = f.student()
    lesson = f.lesson(lesson_date)
    a = f.assignment(lesson, type_id, "Работа")
    f.mark(a, student, entered)
    return (a, student)


def test_r05_oral_same_day_only_warning():
    f = MirrorFactory()
    f_ok = _marked(f, 10, "2025-09-10T23:59:59")
    late = _marked(f, 11, "2025-09-11T00:00:01")
    assert keys(f, "2025-09-30", "R05") == {late}
    assert findings(f, "2025-09-30", "R05")[0].severity == "warning"
    assert f_ok not in keys(f, "2025-09-30", "R05")


def test_r06_written_day_5_ok_day_6_late():
    f = MirrorFactory()
    _marked(f, 5, "2025-09-15T20:00:00")
    late = _marked(f, 5, "2025-09-16T08:00:00")
    assert keys(f, "2025-09-30", "R06") == {late}
    assert keys(f, "2025-09-30", "R06", written_days=6) == set()


def test_r07_kr_day_7_ok_day_8_late_reported_once_under_its_own_rule():
    f = MirrorFactory()
    _marked(f, 4, "2025-09-17T23:00:00")
    late = _marked(f, 4, "2025-09-18T09:00:00")
    oral_late = _marked(f, 10, "2025-09-18T09:00:00")
    untyped_late = _marked(f, 3, "2025-09-18T09:00:00")
    assert keys(f, "2025-09-30", "R07") == {late}
    # R08 keeps only the marks no type rule (R05–R07) reports
    assert keys(f, "2025-09-30", "R08") == {untyped_late}
    oral = findings(f, "2025-09-30", "R05")
    assert [(x.key, x.severity) for x in oral] == [(oral_late, "violation")]


def test_r06_school_days_skip_weekends_and_the_vacation():
    f = MirrorFactory()
    # lesson Fri 24 Oct 2025; vacation 27 Oct – 4 Nov; school days 5, 6, 7, 10, 11 Nov
    ok = _marked(f, 5, "2025-11-11T18:00:00", lesson_date="2025-10-24")
    late = _marked(f, 5, "2025-11-12T08:00:00", lesson_date="2025-10-24")
    assert keys(f, "2025-11-30", "R06", day_kind="school") == {late}
    assert keys(f, "2025-11-30", "R06") == {ok, late}
    row = findings(f, "2025-11-30", "R06", day_kind="school")[0]
    assert row.deadline == "2025-11-11"


def test_r08_deleted_marks_and_marks_seen_after_as_of_are_ignored():
    f = MirrorFactory()
    student = f.student()
    lesson = f.lesson("2025-09-10")
    a = f.assignment(lesson, 3, "ДЗ")
    f.mark(a, student, "2025-09-25T10:00:00", deleted=True)
    b = f.assignment(lesson, 3, "ДЗ 2")
    f.mark(b, student, "2025-09-25T10:00:00")
    assert keys(f, "2025-09-24", "R08") == set()
    assert keys(f, "2025-09-25", "R08") == {(b, student)}


def test_evidence_levels_for_observed_and_initial_entries():
    f = MirrorFactory()
    s1, s2, s3 = f.student(), f.student(), f.student()
    lesson = f.lesson("2025-09-10")
    a = f.assignment(lesson, 5, "СР")
    # certain: even the previous sync (16 Sep) did not have it, deadline 15 Sep
    f.mark(a, s1, "2025-09-17T03:00:00", source="observed", last_absent_at="2025-09-16T03:00:00")
    # possible: the previous sync ran before the deadline
    f.mark(a, s2, "2025-09-17T03:00:00", source="observed", last_absent_at="2025-09-14T03:00:00")
    f.mark(a, s3, "2025-09-17T03:00:00", source="initial")
    got = {
        x.student_id: (x.evidence, x.certainty)
        for x in findings(f, "2025-09-30", "R06", evidence="unknown")
    }
    assert got == {
        s1: ("observed", "certain"),
        s2: ("observed", "possible"),
        s3: ("unknown", "unknown"),
    }
    assert {x.student_id for x in findings(f, "2025-09-30", "R06")} == {s1, s2}
    assert {x.student_id for x in findings(f, "2025-09-30", "R06", evidence="certain")} == {s1}


# --- R09, R10 ------------------------------------------------------------------------------
def test_r09_mark_before_the_lesson_day():
    f = MirrorFactory()
    early = _marked(f, 5, "2025-09-09T23:59:59")
    _marked(f, 5, "2025-09-10T00:00:00")
    assert keys(f, "2025-09-30", "R09") == {early}


def test_r10_marked_assignment_without_a_name():
    f = MirrorFactory()
    student = f.student()
    lesson = f.lesson("2025-09-10", topic=None)
    placeholder = f.assignment(lesson, 10, "---Не указана---")
    f.mark(placeholder, student, "2025-09-10T15:00:00")
    empty = f.assignment(lesson, 5, "")
    f.mark(empty, student, "2025-09-10T15:00:00")
    f.assignment(lesson, 5, None)  # unmarked: not R10
    assert keys(f, "2025-09-30", "R10") == {(placeholder,), (empty,)}


# --- R11, R12 ------------------------------------------------------------------------------
def test_r11_osv_is_a_violation_and_an_unmapped_code_a_warning():
    f = MirrorFactory()
    s1, s2, s3 = f.student(), f.student(), f.student()
    lesson = f.lesson("2025-09-10")
    f.absence(lesson, s1, "ОСВ")
    f.absence(lesson, s2, "ОП")
    f.absence(lesson, s3, "УП")
    f.insert("attendance_reasons", code="ОП", local_code="ОП", name="Опоздал", known=1)
    result = evaluate(f.db, parse_rule_settings({}), dt.date(2025, 9, 11), ["R11"])
    assert {(x.key, x.severity) for x in result.findings} == {
        ((lesson, None, f.sg_id, None, s1), "violation"),
        ((lesson, None, f.sg_id, None, s2), "warning"),
    }
    assert [n for n in result.notices if n["rule"] == "R11"] == [
        {
            "rule": "R11",
            "text": "код посещаемости «ОП» есть на портале, но не сопоставлен "
            "в [rules.codes]; отметки с ним считаются нарушением (warning)",
        }
    ]
    mapped = {"codes": {"О": ["О", "ОП"]}}
    assert keys(f, "2025-09-11", "R11", **mapped) == {(lesson, None, f.sg_id, None, s1)}


def test_r12_n_left_after_day_7_goes_to_the_class_teacher():
    f = MirrorFactory()
    s1, s2 = f.student(), f.student()
    lesson = f.lesson("2025-09-10")
    f.absence(lesson, s1, "Н")
    f.absence(lesson, s2, "УП")
    assert keys(f, "2025-09-17", "R12") == set()  # deadline 17 Sep not passed yet
    got = findings(f, "2025-09-18", "R12")
    assert [(x.key, x.teacher_id, x.deadline) for x in got] == [
        ((lesson, s1), f.class_teacher_id, "2025-09-17")
    ]
    assert keys(f, "2025-09-18", "R12", reason_days=8) == set()


def test_r06_written_anchor_due_date_counts_from_the_day_the_work_was_due():
    """Domain §1.3 C12: an essay set on 10 Sep, due 15 Sep, marked 19 Sep."""
    f = MirrorFactory()
    student = f.student()
    lesson = f.lesson("2025-09-10")
    essay = f.assignment(lesson, 5, "Сочинение-рассуждение")
    f.db["assignments"].update(essay, {"due_date": "2025-09-15T00:00:00"})
    f.mark(essay, student, "2025-09-19T10:00:00")
    assert keys(f, "2025-09-30", "R06") == {(essay, student)}
    assert keys(f, "2025-09-30", "R06", written_anchor="due_date") == set()
    f.mark(essay, f.student(), "2025-09-21T10:00:00")
    late = findings(f, "2025-09-30", "R06", written_anchor="due_date")
    assert [(x.key[0], x.deadline) for x in late] == [(essay, "2025-09-20")]


def test_written_anchor_must_be_lesson_or_due_date():
    import pytest

    from asurso_sync.errors import ConfigError

    with pytest.raises(ConfigError, match="written_anchor"):
        parse_rule_settings({"written_anchor": "handed_in"})
