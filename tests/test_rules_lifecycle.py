"""The violations' lifecycle over several checks, the unlock register, and config validation."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from mirror_factory import MirrorFactory

from asurso_sync.config import parse_config
from asurso_sync.errors import ConfigError
from asurso_sync.rules import check, load_rule_settings, parse_rule_settings
from asurso_sync.rules.summary import status_section

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def _violation_rows(f: MirrorFactory) -> dict[tuple, tuple]:
    return {
        tuple(json.loads(r["key"])): (
            r["rule"],
            r["status"],
            r["first_found_at"],
            r["last_found_at"],
            r["fixed_at"],
        )
        for r in f.db.query("SELECT * FROM violations ORDER BY id")
    }


def test_lifecycle_new_open_fixed_and_reopened():
    f = MirrorFactory()
    fixed_later = f.lesson("2025-09-10", topic=None)
    stays = f.lesson("2025-09-11", topic=None)
    s = parse_rule_settings({})
    first = check(f.db, s, dt.date(2025, 9, 12), ["R01"], now=NOW)
    assert sorted((x.key, x.status) for x in first.findings) == [
        ((fixed_later,), "new"),
        ((stays,), "new"),
    ]
    # the teacher enters the first topic; a new lesson without topic appears
    f.db["lessons"].update(fixed_later, {"topic": "Дроби"})
    f.assignment(fixed_later, 10, "Дроби", entered_at="2025-09-10T15:00:00")
    appears = f.lesson("2025-09-12", topic=None)
    second = check(f.db, s, dt.date(2025, 9, 13), ["R01"], now=NOW)
    assert sorted((x.key, x.status) for x in second.findings) == [
        ((stays,), "open"),
        ((appears,), "new"),
    ]
    assert [(r["key"], r["status"]) for r in second.fixed] == [(f"[{fixed_later}]", "fixed")]
    assert _violation_rows(f) == {
        (fixed_later,): ("R01", "fixed", "2025-09-12", "2025-09-12", "2025-09-13"),
        (stays,): ("R01", "open", "2025-09-12", "2025-09-13", None),
        (appears,): ("R01", "new", "2025-09-13", "2025-09-13", None),
    }
    runs = [
        (r["as_of"], json.loads(r["rules"]), json.loads(r["counts"]))
        for r in f.db.query("SELECT * FROM check_runs ORDER BY id")
    ]
    assert runs == [
        ("2025-09-12", ["R01"], {"R01": {"new": 2}}),
        ("2025-09-13", ["R01"], {"R01": {"open": 1, "new": 1, "fixed": 1}}),
    ]
    # a check of another rule leaves R01's violations alone; a fixed one that returns reopens
    check(f.db, s, dt.date(2025, 9, 14), ["R02"], now=NOW)
    assert _violation_rows(f)[(stays,)][1] == "open"
    f.db.execute("DELETE FROM assignments WHERE lesson_id = ?", [fixed_later])
    third = check(f.db, s, dt.date(2025, 9, 14), ["R01"], now=NOW)
    assert {x.key: x.status for x in third.findings}[(fixed_later,)] == "open"
    assert _violation_rows(f)[(fixed_later,)] == ("R01", "open", "2025-09-12", "2025-09-14", None)


def test_status_section_counts_open_per_rule_and_teacher():
    f = MirrorFactory()
    f.lesson("2025-09-10", topic=None, homework=None)
    check(f.db, parse_rule_settings({}), dt.date(2025, 9, 12), ["R01", "R02"], now=NOW)
    assert status_section(f.db) == {
        "last_check": {"id": 1, "run_at": "2026-01-01T12:00:00+00:00", "as_of": "2025-09-12"},
        "open": 2,
        "by_rule": {"R01": 1, "R02": 1},
        "by_teacher": [
            {"teacher_id": f.teacher_id, "teacher": "Петрова Мария Ивановна", "open": 2}
        ],
        "excused": 0,
        "fixed": 0,
    }


def test_unlock_window_edges_excuse_late_marks(tmp_path):
    f = MirrorFactory()
    student = f.student()
    lesson = f.lesson("2025-09-10")
    times = [
        "2025-10-01T08:59:59",
        "2025-10-01T09:00:00",
        "2025-10-01T21:00:00",
        "2025-10-01T21:00:01",
    ]
    assignments = []
    for when in times:
        a = f.assignment(lesson, 3, "ДЗ")
        f.mark(a, student, when)
        assignments.append(a)
    register = tmp_path / "unlocks.csv"
    register.write_text(
        "id,date,start,teacher,class,subject\n"
        "u1,2025-09-10,2025-10-01T09:00:00,Петрова Мария Ивановна,5а,Математика\n"
        "u2,2025-09-10,2025-10-01T00:00:00,Другой Учитель Иванович,,\n",
        encoding="utf-8",
    )
    s = parse_rule_settings({"unlock_register": str(register)})
    result = check(f.db, s, dt.date(2025, 10, 2), ["R08"], now=NOW)
    got = {x.assignment_id: (x.status, x.excused_by) for x in result.findings}
    assert got == {
        assignments[0]: ("new", None),
        assignments[1]: ("excused", "u1"),
        assignments[2]: ("excused", "u1"),
        assignments[3]: ("new", None),
    }
    assert status_section(f.db)["excused"] == 2


def test_unlock_register_toml_and_bad_line(tmp_path):
    from asurso_sync.rules.unlock import read_unlock_register

    toml = tmp_path / "u.toml"
    toml.write_text(
        '[[unlock]]\nid = "a"\ndate = "2025-09-30"\nstart = "2025-10-01T09:00:00"\nhours = 2\n'
        'class = "5а"\nrules = ["R08", "r24"]\n',
        encoding="utf-8",
    )
    [window] = read_unlock_register(toml)
    assert window.rules == ("R08", "R24")
    assert (window.id, window.date, window.start, window.end, window.class_name) == (
        "a",
        "2025-09-30",
        "2025-10-01T09:00:00",
        "2025-10-01T11:00:00",
        "5а",
    )
    bad = tmp_path / "u.csv"
    bad.write_text("id,date,start\nx,2025-09-30,завтра\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="entry 2"):
        read_unlock_register(bad)


@pytest.mark.parametrize(
    "table, message",
    [
        (
            {"written_types": ["Диктант", "Контрольная работа"]},
            "written_types and kr_types overlap (Контрольная работа)",
        ),
        ({"day_kind": "weekly"}, "day_kind must be"),
        ({"tz": "Mars/Olympus"}, "tz 'Mars/Olympus' is not a known time zone"),
        ({"grace_hours": -1}, "grace_hours must be a number"),
        ({"kr_days": "7"}, "kr_days must be a whole number"),
        ({"evidence": "maybe"}, "evidence must be one of certain, possible, unknown"),
        ({"ktp_deadline": "31.08"}, "ktp_deadline must be MM-DD"),
        ({"codes": {"Н": ["Н", "ОТ"], "О": ["ОТ"]}}, "code 'ОТ' is in both Н and О"),
        ({"codes": {"absent": ["Н"]}}, "unknown key"),
        ({"exempt": [{"rule": "R99", "subject": "ИЗО"}]}, "R99"),
        ({"exempt": [{"rule": "R02"}]}, "needs a subject or a class"),
        ({"order_deadline": {"1 четверть": "23.10.2025"}}, "must be a date"),
        ({"skip": ["R31"]}, "skip names unknown rule"),
        ({"deadline": 5}, "unknown key"),
    ],
)
def test_config_errors_name_the_key(table, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule_settings(table)


def test_settings_from_config_resolve_paths_and_timezone(tmp_path):
    config = parse_config(
        {
            "sync": {"timezone": "Europe/Moscow"},
            "rules": {"unlock_register": "unlocks.csv", "grace_hours": 2},
        },
        tmp_path / "asurso-sync.toml",
    )
    s = load_rule_settings(config)
    assert (s.tz, s.unlock_register, s.grace_hours, s.kr_days) == (
        "Europe/Moscow",
        str(tmp_path / "unlocks.csv"),
        2.0,
        7,
    )


def test_skip_and_class_teacher_attribution():
    from asurso_sync.rules import evaluate

    f = MirrorFactory()
    f.lesson("2025-09-10", topic=None, homework=None)
    as_of = dt.date(2025, 9, 12)
    skip = [f"R{n:02d}" for n in range(2, 26)]  # every rule but R01
    default = evaluate(f.db, parse_rule_settings({"skip": skip}), as_of)
    assert default.rules == ("R01",)
    assert [(x.rule, x.teacher_id) for x in default.findings] == [("R01", f.teacher_id)]
    to_class = parse_rule_settings({"skip": skip, "attribution": "class_teacher"})
    assert [(x.rule, x.teacher_id) for x in evaluate(f.db, to_class, as_of).findings] == [
        ("R01", f.class_teacher_id)
    ]
