"""D1 «Список замечаний»: one row per lesson or assignment, rules in the regulation's order,
deadlines labelled by their source, «В прошлом списке» from the lists actually issued."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from documents_fixture import build_documents_mirror
from rendered import one, read_csv

from asurso_sync.documents import issued_lists, record_list_issued, render
from asurso_sync.documents.remarks import compact_names, short_detail

NOW = dt.datetime(2025, 12, 1, 21, 30, tzinfo=dt.UTC)  # 02.12.2025 01:30 in Samara


@pytest.fixture
def db():
    mirror = build_documents_mirror()
    # R06: one written work of 5а (assignment 9001, lesson of 05.11) marked late for three
    # pupils, and R05 for one pupil of another lesson: two rows, not four.
    late = [
        (
            "w1",
            "R06",
            5001,
            9001,
            "2025-11-05",
            "2025-11-10",
            "Оценка 5 внесена 2025-11-12T16:27:00",
        ),
        (
            "w2",
            "R06",
            5002,
            9001,
            "2025-11-05",
            "2025-11-10",
            "Оценка 4 внесена 2025-11-12T16:27:00",
        ),
        (
            "w3",
            "R06",
            5003,
            9001,
            "2025-11-05",
            "2025-11-10",
            "Оценка 3 внесена 2025-11-12T16:27:00",
        ),
        ("w4", "R05", 5004, 9002, "2025-11-11", "2025-11-11", "Оценка внесена 2025-11-13T10:00:00"),
    ]
    mirror["violations"].insert_all(
        {
            "id": vid,
            "rule": rule,
            "severity": "violation",
            "evidence": "portal",
            "status": "new",
            "teacher_id": 201,
            "class_id": 101,
            "subject_group_id": 1101,
            "student_id": pupil,
            "assignment_id": assignment,
            "lesson_id": 77000 + assignment,
            "lesson_date": day,
            "deadline": deadline,
            "detail": f"{detail}, срок {deadline}",
            "first_found_at": "2025-11-14T19:00:00+00:00",
            "last_found_at": "2025-11-14T19:00:00+00:00",
        }
        for vid, rule, pupil, assignment, day, deadline, detail in late
    )
    return mirror


def test_d1_groups_a_teachers_remarks_by_lesson_or_assignment(db, tmp_path):
    paths = render(db, "D1", tmp_path, month="2025-11", teacher="Петрова", now=NOW)
    assert [p.name for p in paths] == [
        "D1_remarks_2025-11_Петрова_МИ.html",
        "D1_remarks_2025-11_Петрова_МИ.remarks.csv",
        "D1_remarks_2025-11_Петрова_МИ.remarks.xlsx",
        "D1_remarks_2025-11_Петрова_МИ.fixed.csv",
        "D1_remarks_2025-11_Петрова_МИ.fixed.xlsx",
    ]
    remarks = read_csv(one(paths, ".remarks.csv"))
    assert remarks[0] == [
        "№",
        "правило",
        "дата",
        "класс",
        "предмет",
        "вид задания",
        "что не так",
        "учеников",
        "ученики",
        "обнаружено",
        "срок",
        "источник срока",
        "устранить до",
        "статус",
        "просрочено, дней",
    ]
    setting = "по настройке школы ([rules] topic_days)"
    late = "не устранено в срок (срок устранения {}), просрочено на {} дн."
    assert remarks[1:] == [
        # R01 ×2 (open since September and October: past their fix-by, found + 30 days, on the
        # issue date 02.12), R02, then R05 and R06 (regulation order), inside their 30 days
        ["1", "R01", "10.09.2025", "5б", "Математика", "", "тема урока не указана", "0", "",
         "12.09.2025", "10.09.2025", setting, "12.10.2025", late.format("12.10.2025", 51), "51"],
        ["2", "R01", "06.10.2025", "5а", "Математика", "", "тема урока не указана", "0", "",
         "08.10.2025", "06.10.2025", setting, "07.11.2025", late.format("07.11.2025", 25), "25"],
        ["3", "R02", "07.11.2025", "5а", "Математика", "", "домашнее задание не задано", "0", "",
         "14.11.2025", "07.11.2025", "по настройке школы ([rules] hw_days)", "14.12.2025",
         "новое", ""],
        ["4", "R05", "11.11.2025", "5а", "Математика", "", "Оценка внесена 13.11.2025 10:00",
         "1", "Григорьева Е. А.", "14.11.2025", "11.11.2025",
         "Регламент, учитель п. 5", "14.12.2025", "новое", ""],
        ["5", "R06", "05.11.2025", "5а", "Математика", "", "Оценка внесена 12.11.2025 16:27",
         "3", "Алексеев А. И., Белова Д. С., Васильев Г. П.", "14.11.2025", "10.11.2025",
         "Регламент, учитель п. 5", "14.12.2025", "новое", ""],
    ]  # fmt: skip
    html = one(paths, ".html").read_text(encoding="utf-8")
    for text in [
        "Список замечаний по ведению электронного журнала",
        "за ноябрь 2025 г.",
        "Замечаний: <b>5</b> (уроков и заданий) по 4 правилам, затронуто отметок учеников: 4.",
        "Прошлый список учителю не выдавался.",
        "Алексеев А., Белова Д., Васильев Г.",
        "· срок: Регламент, учитель п. 5",
        "2. Замечания (5)",
        "3. Устранено за период (1)",
    ]:
        assert text in html, text
    assert "5 внесена" not in html and "Оценка 4" not in html  # never a pupil's mark
    rules = re.findall(r'<tr class="rule"><td colspan="10">(R\d\d)\.', html)
    assert rules == ["R01", "R02", "R05", "R06", "R06"]  # the last: the fixed v3
    assert re.findall(r'<span class="count">строк: (\d+)</span>', html) == ["2", "1", "1", "1", "1"]


def test_d1_issue_date_and_data_time_are_one_school_local_clock(db, tmp_path):
    html = one(
        render(db, "D1", tmp_path, month="2025-11", teacher="201", now=NOW), ".html"
    ).read_text(encoding="utf-8")
    # 21:30 UTC on 1 December is 01:30 on 2 December in Samara: the list is issued on the 2nd
    assert "<td>02.12.2025</td>" in html  # Дата выдачи
    # Устранить до: the rules' fix-by ([rules] fix_days, 30 by default) from each finding
    assert "Устранить до:</td><td>в течение <b>30 дн.</b> с обнаружения" in html
    assert "данные на 14.11.2025 22:00</span> · сформировано 02.12.2025 01:30" in html


def test_d1_previous_list_is_the_last_one_issued_to_the_teacher(db, tmp_path):
    # Nothing issued yet: no comparison, whatever month came before.
    html = one(render(db, "D1", tmp_path / "a", month="2025-11", teacher="201"), ".html")
    assert "Прошлый список учителю не выдавался." in html.read_text(encoding="utf-8")
    # Rendering November recorded it; September's list was handed over on paper.
    record_list_issued(
        db, 201, "2025-09", "Смирнова Е. В.", "handed", "на совещании",
        at=dt.datetime(2025, 10, 2, 6, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    lists = issued_lists(db, 201)
    assert [(r["period"], r["how"], r["note"]) for r in lists] == [
        ("2025-11", "rendered", ""),
        ("2025-09", "handed", "на совещании"),
    ]
    # October's list compares with September's (the one issued), not with an unprinted month.
    html = one(render(db, "D1", tmp_path / "b", month="2025-10", teacher="201"), ".html")
    text = html.read_text(encoding="utf-8")
    assert "В прошлом списке (список за сентябрь 2025 г., выдан 02.10.2025): 1." in text
    # At 30.09 only v5 (R01, lesson of 10.09) was open; at 31.10 v5, v1 (R01) and v3 (R06).
    rows = re.findall(
        r'<td class="num">(R\d\d)</td><td>.*?</td><td class="num">(\d+)</td>'
        r'<td class="num">[^<]*</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td>',
        text,
    )
    assert rows == [("R01", "2", "1", "+1"), ("R06", "1", "0", "+1")]


def test_d1_whole_school_lists_only_teachers_with_remarks(db, tmp_path):
    paths = render(db, "D1", tmp_path, month="2025-10")
    assert sorted(p.name for p in paths if p.suffix == ".html") == [
        "D1_remarks_2025-10_Кузнецова_ОС.html",
        "D1_remarks_2025-10_Петрова_МИ.html",
    ]
    assert sorted(r["teacher_id"] for r in db.query("SELECT * FROM documents_issued_lists")) == [
        201,
        202,
    ]


def test_record_list_issued_refuses_an_unknown_way():
    with pytest.raises(ValueError, match="rendered, handed"):
        record_list_issued(build_documents_mirror(), 201, "2025-10", "x", "emailed")


def test_d1_detail_drops_the_deadline_and_every_mark():
    v = {
        "detail": "Оценка 5 внесена 2025-09-29T16:27:00, срок 2025-09-28",
        "deadline": "2025-09-28",
    }
    assert short_detail(v) == "Оценка внесена 29.09.2025 16:27"
    v = {"detail": "Нет итоговой оценки за период (срок 2026-05-22)", "deadline": "2026-05-22"}
    assert short_detail(v) == "Нет итоговой оценки за период"


def test_compact_names_count_the_rest():
    names = [f"Фамилия{n} Имя Отчество" for n in range(10)]
    assert compact_names(names[:2]) == "Фамилия0 И., Фамилия1 И."
    assert compact_names(names).endswith("Фамилия7 И. и ещё 2")
