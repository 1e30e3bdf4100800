"""Every document for the simulator's `small` school (synced mirror), checked against SQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from mirrors import SMALL_AS_OF, copy_mirror
from rendered import one, read_csv
from sqlite_utils import Database

from asurso_sync.config import Config
from asurso_sync.documents import render
from asurso_sync.documents.common import person_slug
from asurso_sync.rules import check, load_rule_settings


@pytest.fixture(scope="module")
def mirror(small_mirror, tmp_path_factory):
    """A private copy of the small mirror with the rules' violations recorded."""
    path = copy_mirror(small_mirror, tmp_path_factory.mktemp("docs_small"))
    db = Database(path)
    check(db, load_rule_settings(Config()), as_of=SMALL_AS_OF)
    return db


def test_every_kind_renders(mirror, tmp_path):
    for kind in ["D1", "D2", "D3", "D5", "D6", "D7", "D8", "D10"]:
        paths = render(mirror, kind, tmp_path / kind)
        assert [p for p in paths if p.suffix == ".html"], kind
    d4 = render(mirror, "D4", tmp_path / "D4", class_name="5а")
    pupils = mirror.execute(
        "SELECT count(*) FROM students s JOIN classes c ON c.id = s.class_id "
        "WHERE c.name = '5а' AND s.deleted_at IS NULL"
    ).fetchone()[0]
    assert len([p for p in d4 if p.suffix == ".html"]) == pupils


def test_d7_topics_and_marks_match_the_mirror(mirror, tmp_path):
    paths = render(mirror, "D7", tmp_path, class_name="5б")
    topics = read_csv(one(paths, ".topics.csv"))[1:]
    lessons = mirror.execute(
        "SELECT sg.name, l.date, coalesce(l.topic, ''), coalesce(l.homework, '') "
        "FROM lessons l JOIN classes c ON c.id = l.class_id "
        "JOIN subject_groups sg ON sg.id = l.subject_group_id "
        "WHERE c.name = '5б' AND l.deleted_at IS NULL"
    ).fetchall()
    assert sorted(tuple(r) for r in topics) == sorted(
        (name, f"{d[8:10]}.{d[5:7]}.{d[:4]}", t, h) for name, d, t, h in lessons
    )
    marks = read_csv(one(paths, ".marks.csv"))[1:]
    expected = mirror.execute(
        "SELECT count(*) FROM marks m JOIN lessons l ON l.id = m.lesson_id "
        "JOIN classes c ON c.id = l.class_id JOIN subject_group_students s "
        "ON s.subject_group_id = l.subject_group_id AND s.student_id = m.student_id "
        "WHERE c.name = '5б' AND m.deleted_at IS NULL AND l.deleted_at IS NULL "
        "AND s.deleted_at IS NULL AND (m.mark IS NOT NULL OR m.duty_mark = 1)"
    ).fetchone()[0]
    assert sum(len(r[4].split()) for r in marks) == expected


def test_d6_lessons_missed_match_the_mirror(mirror, tmp_path):
    table = read_csv(one(render(mirror, "D6", tmp_path, class_name="5а"), ".csv"))
    head = table[0]
    year = [r for r in table[1:] if r[0].startswith("Итого")]
    missed = sum(int(r[head.index("уроков всего")]) for r in year)
    late = sum(int(r[head.index("опозданий")]) for r in year)
    codes = Counter(
        dict(
            mirror.execute(
                "SELECT a.reason, count(*) FROM attendance a JOIN lessons l ON l.id = a.lesson_id "
                "JOIN classes c ON c.id = l.class_id JOIN subject_group_students s "
                "ON s.subject_group_id = l.subject_group_id AND s.student_id = a.student_id "
                "WHERE c.name = '5а' AND a.deleted_at IS NULL AND l.deleted_at IS NULL "
                "AND s.deleted_at IS NULL GROUP BY a.reason"
            ).fetchall()
        )
    )
    assert missed == codes["Н"] + codes["ОТ"] + codes["УП"] + codes["НП"] + codes["Б"]
    assert late == codes["О"] + codes["ОП"]
    assert missed > 0 and late > 0


def classify(marks: list[str]) -> str:
    if not marks or "н/а" in marks:
        return "not"
    values = [int(m) for m in marks]
    if min(values) <= 2:
        return "fail"
    if min(values) == 5:
        return "five"
    threes = values.count(3)
    return "good" if threes == 0 else ("one3" if threes == 1 else "pass")


def test_d5_footer_matches_the_period_marks(mirror, tmp_path):
    paths = render(mirror, "D5", tmp_path)
    for cls in ["5а", "5б"]:
        footer = dict(read_csv(one(paths, f"_{cls}.footer.csv"))[1:])
        term = mirror.execute(
            "SELECT t.id FROM terms t WHERE EXISTS (SELECT 1 FROM period_marks pm "
            "JOIN subject_groups sg ON sg.id = pm.subject_group_id JOIN classes c "
            "ON c.id = sg.class_id WHERE pm.term_id = t.id AND c.name = ? "
            "AND pm.mark != '') AND t.end_date <= (SELECT max(date) FROM lessons) "
            "ORDER BY t.start_date DESC LIMIT 1",  # the latest period ended, with marks
            [cls],
        ).fetchone()[0]
        pupils = [
            r[0]
            for r in mirror.execute(
                "SELECT s.id FROM students s JOIN classes c ON c.id = s.class_id "
                "WHERE c.name = ? AND s.deleted_at IS NULL",
                [cls],
            )
        ]
        kinds = Counter()
        for pid in pupils:
            marks = [
                r[0]
                for r in mirror.execute(
                    "SELECT pm.mark FROM period_marks pm WHERE pm.student_id = ? AND pm.term_id = ? "
                    "AND pm.deleted_at IS NULL AND pm.mark != ''",
                    [pid, term],
                )
            ]
            kinds[classify(marks)] += 1
        assert footer["всего обучающихся"] == str(len(pupils))
        assert footer["на «5»"] == str(kinds["five"])
        assert footer["на «4» и «5»"] == str(kinds["good"])
        assert footer["с одной «3»"] == str(kinds["one3"])
        assert footer["неуспевающие"] == str(kinds["fail"])
        assert footer["не аттестованы"] == str(kinds["not"])
        passing = kinds["five"] + kinds["good"] + kinds["one3"] + kinds["pass"]
        assert footer["успевают"] == str(passing)


def test_d1_lists_the_open_violations_of_each_teacher(mirror, tmp_path):
    month = SMALL_AS_OF.strftime("%Y-%m")
    paths = render(mirror, "D1", tmp_path, month=month)
    end = dt.date(2026, 5, 31).isoformat()
    expected = Counter(
        r[0]
        for r in mirror.execute(
            "SELECT teacher_id FROM violations WHERE status IN ('new', 'open') "
            "AND teacher_id IS NOT NULL AND coalesce(lesson_date, deadline, first_found_at) <= ?",
            [end],
        )
    )
    assert expected, "the small school's mirror holds open violations"
    slugs = {
        person_slug(name): tid for tid, name in mirror.execute("SELECT id, name FROM teachers")
    }
    got = {}
    for p in paths:
        if p.name.endswith(".remarks.csv"):
            teacher = slugs[p.name.removeprefix(f"D1_remarks_{month}_").split(".")[0]]
            # one row per lesson or assignment: its pupils (or the one remark it stands for)
            got[teacher] = sum(int(r[7]) or 1 for r in read_csv(p)[1:])
    assert {t: n for t, n in got.items() if n} == dict(expected)
    html = next(p for p in paths if p.suffix == ".html").read_text(encoding="utf-8")
    assert "Список замечаний по ведению электронного журнала" in html


def test_d3_counts_the_access_report_of_the_latest_week(mirror, tmp_path):
    latest = mirror.execute("SELECT max(entered_at) FROM journal_access").fetchone()[0]
    assert latest, "the synced journal_access rows carry their entry times"
    year, week, _ = dt.date.fromisoformat(latest[:10]).isocalendar()
    label = f"{year:04d}-W{week:02d}"
    start = dt.date.fromisocalendar(year, week, 1).isoformat()
    end = dt.date.fromisocalendar(year, week, 7).isoformat()
    paths = render(mirror, "D3", tmp_path, week=label)
    roles = {r[0]: int(r[-1]) for r in read_csv(one(paths, ".roles.csv"))[1:]}
    expected = dict(
        mirror.execute(
            "SELECT role, count(DISTINCT user_name) FROM journal_access "
            "WHERE substr(entered_at, 1, 10) BETWEEN ? AND ? GROUP BY role",
            [start, end],
        ).fetchall()
    )
    assert roles == expected and roles
