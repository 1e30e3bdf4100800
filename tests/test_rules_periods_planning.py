"""R13–R23 at their boundaries, over hand-built mirrors."""

from __future__ import annotations

import datetime as dt

import pytest
from mirror_factory import MirrorFactory

from asurso_sync.errors import ConfigError
from asurso_sync.rules import evaluate, parse_rule_settings


def run(f: MirrorFactory, as_of: str, rule: str, **config):
    return evaluate(f.db, parse_rule_settings(config), dt.date.fromisoformat(as_of), [rule])


def keys(f: MirrorFactory, as_of: str, rule: str, **config) -> set[tuple]:
    return {x.key for x in run(f, as_of, rule, **config).findings}


# --- R13, R14 (term 1 ends Sun 26 Oct 2025; deadline 23 Oct) --------------------------------
def test_r13_deadline_is_term_end_minus_3_days():
    f = MirrorFactory()
    on_time, late, missing = f.student(), f.student(), f.student()
    f.period_mark(on_time, 1, "2025-10-23T23:59:59")
    f.period_mark(late, 1, "2025-10-24T08:00:00")
    assert keys(f, "2025-10-23", "R13") == set()  # the deadline day itself: not passed yet
    assert keys(f, "2025-10-24", "R13") == {(f.sg_id, 1, late), (f.sg_id, 1, missing)}
    assert keys(f, "2025-10-24", "R13", final_offset_days=2) == set()
    assert keys(f, "2025-10-25", "R13", final_offset_days=2) == {(f.sg_id, 1, missing)}


def test_r13_na_counts_as_present_and_school_days_and_order_deadline():
    f = MirrorFactory()
    na, friday = f.student(), f.student()
    f.period_mark(na, 1, "2025-10-20T10:00:00", mark="н/а")
    f.period_mark(friday, 1, "2025-10-22T10:00:00")
    # school days back from Sun 26 Oct: Fri 24, Thu 23, Wed 22 → deadline 22 Oct
    assert keys(f, "2025-10-23", "R13", day_kind="school") == set()
    # a school order closing the term on 21 Oct wins (the earlier deadline)
    order = {"order_deadline": {"1 четверть": "2025-10-21"}}
    assert keys(f, "2025-10-22", "R13", **order) == {(f.sg_id, 1, friday)}
    assert run(f, "2025-10-22", "R13", **order).findings[0].deadline == "2025-10-21"


def test_r14_period_mark_entered_after_term_end_is_info():
    f = MirrorFactory()
    last_day, after = f.student(), f.student()
    f.period_mark(last_day, 1, "2025-10-26T23:00:00")
    f.period_mark(after, 1, "2025-10-27T09:00:00")
    got = run(f, "2025-11-10", "R14").findings
    assert [(x.key, x.severity, x.deadline) for x in got] == [
        ((f.sg_id, 1, after), "info", "2025-10-26")
    ]


# --- R15–R18 КТП ----------------------------------------------------------------------------
def test_r15_missing_late_and_early_warning():
    f = MirrorFactory()
    subject = f.subject("Русский язык")
    ok = f.group(f.class_id, subject)
    f.plan(ok, created_date="2025-06-26T10:00:00")
    warn = f.group(f.class_id, subject)
    f.plan(warn, created_date="2025-06-27T10:00:00")
    late = f.group(f.class_id, subject)
    f.plan(late, created_date="2025-09-01T10:00:00")
    # f.sg_id has no plan
    got = {x.key: (x.severity, x.deadline) for x in run(f, "2025-09-10", "R15").findings}
    assert got == {
        (warn,): ("warning", "2025-06-26"),
        (late,): ("violation", "2025-08-31"),
        (f.sg_id,): ("violation", "2025-08-31"),
    }
    assert keys(f, "2025-09-10", "R15", ktp_early_deadline="") == {(late,), (f.sg_id,)}
    # before 31 Aug a missing plan is only the early warning
    assert {x.severity for x in run(f, "2025-08-31", "R15").findings if x.key == (f.sg_id,)} == {
        "warning"
    }


def test_r16_hours_must_match_curriculum():
    f = MirrorFactory()
    f.plan(lessons=[("Тема", 2, "2025-09-05", "§1")] * 17)  # 34 hours: ok
    other = f.group(f.class_id, f.subject("История"), hours=68)
    f.plan(other, lessons=[("Тема", 2, "2025-09-05", "§1")] * 33)
    assert keys(f, "2025-09-10", "R16") == {(other,)}
    assert keys(f, "2025-09-10", "R16", ktp_tolerance=2) == set()


def test_r17_plan_lesson_name_cyrillic_and_task():
    f = MirrorFactory()
    f.plan(lessons=[])
    good = f.plan_lesson(f.sg_id, "Present Simple — настоящее время")
    latin = f.plan_lesson(f.sg_id, "Present Simple")
    empty = f.plan_lesson(f.sg_id, "  ")
    no_task = f.plan_lesson(f.sg_id, "Дроби", task="")
    got = {x.key: x.detail for x in run(f, "2025-09-10", "R17").findings}
    assert got == {
        (latin,): "Урок КТП: тема не на русском языке",
        (empty,): "Урок КТП: нет темы",
        (no_task,): "Урок КТП: нет задания",
    }
    assert (good,) not in got


def test_r18_programme_lag_at_an_ended_term():
    f = MirrorFactory()
    f.plan(
        lessons=[
            ("Тема", 1, "2025-09-10", "§1"),
            ("Тема", 1, "2025-09-17", "§1"),
            ("Тема", 1, "2025-10-29", "§1"),
        ]
    )
    f.lesson("2025-09-10")
    assert keys(f, "2025-10-26", "R18") == set()  # term 1 not ended yet
    assert keys(f, "2025-10-27", "R18") == {(f.sg_id, 1)}
    assert keys(f, "2025-10-27", "R18", lag_tolerance=1) == set()
    f.lesson("2025-09-17")
    assert keys(f, "2025-10-27", "R18") == set()


# --- R19–R21 rosters -----------------------------------------------------------------------
def test_r19_split_subject_pupil_in_none_or_both():
    f = MirrorFactory()
    english = f.subject("Английский язык")
    g1 = f.group(f.class_id, english)
    g2 = f.group(f.class_id, english)
    one = f.student(member_of=[g1])
    none = f.student(member_of=[])
    both = f.student(member_of=[g1, g2])
    got = {x.key: x.detail for x in run(f, "2025-09-10", "R19").findings}
    assert got == {
        (f.class_id, english, none): "Ученик не входит ни в одну подгруппу",
        (f.class_id, english, both): "Ученик входит в 2 подгруппы, идущие в одном периоде",
    }
    assert (f.class_id, english, one) not in got


def test_r20_class_without_lessons_in_the_first_week():
    f = MirrorFactory()
    other = f.klass("5б")
    f.group(other, f.subject_id)
    f.lesson("2025-09-07")
    assert keys(f, "2025-09-07", "R20") == set()
    got = run(f, "2025-09-08", "R20").findings
    assert [(x.key, x.deadline) for x in got] == [((other,), "2025-09-07")]


def test_r21_late_list_and_health_group():
    f = MirrorFactory()
    late_class = f.klass("5б")
    f.student(class_id=late_class, added_date="2025-09-06", member_of=[])
    f.student(added_date="2025-09-05")
    unfilled = f.student(health_filled=0)
    f.student(health_filled=None)
    assert keys(f, "2025-09-05", "R21") == set()
    assert keys(f, "2025-09-06", "R21") == {(late_class, None), (f.class_id, unfilled)}


def test_r22_and_r23_without_register_are_notices():
    f = MirrorFactory()
    result = evaluate(f.db, parse_rule_settings({}), dt.date(2025, 9, 10), ["R22", "R23"])
    assert result.findings == []
    assert [n for n in result.notices if n["rule"] in ("R22", "R23")] == [
        {"rule": "R22", "text": "не проверяется: портал не передаёт связи учеников с родителями"},
        {
            "rule": "R23",
            "text": "не проверяется: не задан журнал уведомлений ([rules] r23_register)",
        },
    ]


def test_r23_register(tmp_path):
    register = tmp_path / "notices.csv"
    register.write_text(
        "id,received,entered,student_id\n"
        "n1,2025-09-01,2025-09-04,\n"
        "n2,2025-09-01,2025-09-05,7\n"
        "n3,2025-09-06,,\n"
        "n4,2025-09-07,,\n",
        encoding="utf-8",
    )
    f = MirrorFactory()
    got = run(f, "2025-09-10", "R23", r23_register=str(register)).findings
    assert [(x.key, x.student_id, x.deadline) for x in got] == [
        (("n2",), 7, "2025-09-04"),
        (("n3",), None, "2025-09-09"),
    ]
    register.write_text("id,received\nn1,01.09.2025\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2"):
        run(f, "2025-09-10", "R23", r23_register=str(register))
