"""D3 from what is real (issue 11 item 6, issue 15 items 1 and 5): entries per teacher and day
from the mirror's own observations first, the journal access report (any layout) as enrichment,
the last complete week by default, titled «за неделю 30.11–06.12.2026»."""

from __future__ import annotations

import json

from asurso_sync.documents import activity
from asurso_sync.documents.common import Request
from asurso_sync.documents.output import render_html, template_env
from asurso_sync.documents.settings import ReportSettings
from asurso_sync.mirror.db import open_mirror
from asurso_sync.portal import adapter

SETTINGS = ReportSettings(timezone="Europe/Samara")
HISTORY = {"first_seen_at": "2026-11-01T00:00:00+00:00", "deleted_at": None}


def mirror():
    db = open_mirror(memory=True)
    db.table("schools").insert({"id": 1, "name": "Школа", **HISTORY})
    db.table("years").insert(
        {
            "id": 9,
            "name": "2026/2027",
            "start_date": "2026-09-01",
            "end_date": "2027-06-30",
            **HISTORY,
        }
    )
    db.table("classes").insert({"id": 10, "name": "5а", "grade": "5", "letter": "а", **HISTORY})
    db.table("teachers").insert_all(
        [
            {"id": 1, "name": "Петрова Мария Ивановна", **HISTORY},
            {"id": 2, "name": "Волков Дмитрий Андреевич", **HISTORY},
        ]
    )
    db.table("subjects").insert({"id": 5, "name": "Математика", **HISTORY})
    db.table("subject_groups").insert(
        {"id": 100, "class_id": 10, "subject_id": 5, "name": "5а/Математика", **HISTORY}
    )
    db.table("subject_group_teachers").insert({"subject_group_id": 100, "teacher_id": 1, **HISTORY})
    db.table("students").insert({"id": 7, "class_id": 10, "full_name": "Ученик", **HISTORY})
    db.table("terms").insert(
        {
            "id": 3,
            "name": "2 четверть",
            "start_date": "2026-11-05",
            "end_date": "2026-12-28",
            **HISTORY,
        }
    )
    lessons = [(1000, "2026-11-30"), (1001, "2026-12-02"), (1002, "2026-11-23")]
    db.table("lessons").insert_all(
        {"id": i, "subject_group_id": 100, "class_id": 10, "term_id": 3, "date": d, **HISTORY}
        for i, d in lessons
    )

    def entry(at, source="observed"):
        return {"entered_at": at, "entered_source": source}

    db.table("assignments").insert_all(
        [
            {"id": 1, "lesson_id": 1000, "subject_group_id": 100, "type_id": 10,
             **entry("2026-11-30T15:00:00"), **HISTORY},
            {"id": 2, "lesson_id": 1000, "subject_group_id": 100, "type_id": 3,
             **entry("2026-12-01T09:00:00"), **HISTORY},
            {"id": 3, "lesson_id": 1001, "subject_group_id": 100, "type_id": 4,
             **entry("2026-12-02T10:00:00", "portal"), **HISTORY},
            {"id": 4, "lesson_id": 1002, "subject_group_id": 100, "type_id": 10,
             **entry("2026-11-23T10:00:00", "initial"), **HISTORY},
        ]
    )  # fmt: skip
    db.table("marks").insert_all(
        [
            {"assignment_id": 1, "student_id": 7, "lesson_id": 1000, "subject_group_id": 100,
             "mark": "5", **entry("2026-11-30T15:05:00"), **HISTORY},
            {"assignment_id": 3, "student_id": 7, "lesson_id": 1001, "subject_group_id": 100,
             "mark": "4", **entry("2026-12-05T12:00:00"), **HISTORY},
        ]
    )  # fmt: skip
    db.table("attendance").insert(
        {"lesson_id": 1001, "student_id": 7, "subject_group_id": 100, "reason": "Н",
         **entry("2026-12-02T08:30:00"), **HISTORY}
    )  # fmt: skip
    db.table("sync_runs").insert_all(
        [
            {
                "id": 1,
                "started_at": "2026-11-20T20:00:00+00:00",
                "status": "ok",
                "finished_at": "2026-11-20T20:05:00+00:00",
            },
            {
                "id": 2,
                "started_at": "2026-11-25T22:30:00+00:00",
                "status": "ok",
                "finished_at": "2026-11-25T22:35:00+00:00",
            },
        ]
    )
    # a mark changed from 5 to 4, seen on 04.12 (school-local)
    db.table("changes").insert(
        {"run_id": 2, "seen_at": "2026-12-04T18:00:00+00:00", "table_name": "marks",
         "row_key": json.dumps([1, 7]), "kind": "update", "column_name": "mark",
         "old_value": "5", "new_value": "4"}
    )  # fmt: skip
    return db


def test_default_is_the_last_complete_week_with_its_russian_title():
    doc = activity.build(mirror(), Request(), SETTINGS)[0]
    # the last sync was on Thursday 26.11 (local): the last complete week is 16.11–22.11
    assert doc.slug == "D3_activity_2026-W47"
    assert doc.context["subtitle"] == "за неделю 16.11–22.11.2026"
    assert doc.context["period"] == "16.11–22.11.2026"


def test_an_explicit_week_is_titled_the_same_way():
    doc = activity.build(mirror(), Request(week="2026-W49"), SETTINGS)[0]
    assert doc.context["subtitle"] == "за неделю 30.11–06.12.2026"


def test_entries_per_teacher_and_day_from_the_mirrors_observations():
    doc = activity.build(mirror(), Request(week="2026-W49"), SETTINGS)[0]
    entries = next(t for t in doc.tables if t.name == "entries")
    assert entries.header == [
        "учитель", "Пн 30.11", "Вт 01.12", "Ср 02.12", "Чт 03.12", "Пт 04.12", "Сб 05.12",
        "Вс 06.12", "всего", "отметки", "пропуски", "темы", "ДЗ", "задания", "итоговые",
        "в день урока", "позже", "исправлено отметок", "последняя запись",
    ]  # fmt: skip
    assert entries.rows == [
        # Волков has no group: a row of zeros (nothing entered), bold in the page
        ["Волков Дмитрий Андреевич", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "—"],
        # Петрова: topic + mark on Monday's lesson day, homework on Tuesday (late), the
        # absence and the control work on Wednesday's lesson day, a mark on Saturday (late);
        # the topic present at the first import (23.11) is not counted
        ["Петрова Мария Ивановна", 2, 1, 2, 0, 0, 1, 0, 6, 2, 1, 1, 1, 1, 0, 4, 2, 1,
         "05.12.2026 12:00"],
    ]  # fmt: skip


def test_access_report_of_the_2013_layout_enriches_the_teachers_last_access():
    db = mirror()
    page = (
        '<html><head><meta charset="utf-8"></head><body>'
        '<h2 class="main-report-title">Отчет о доступе к классному журналу</h2>'
        '<div class="subtitle">5а, Петрова Мария Ивановна</div><table class="ThinTable">'
        "<tr><td>Предмет</td><td>Дата последнего изменения оценок</td><td>Пользователь</td></tr>"
        "<tr><td>5а/Математика</td><td>02.12.2026&nbsp;14:05</td><td>Петрова М.И.</td></tr>"
        "</table></body></html>"
    ).encode()
    for row in adapter.parse_access_report(page, -1, {"5а": 10}):
        db.table("journal_access").insert({**row, **HISTORY})
    doc = activity.build(db, Request(week="2026-W49"), SETTINGS)[0]
    teachers = next(t for t in doc.tables if t.name == "teachers")
    assert teachers.rows == [
        ["Волков Дмитрий Андреевич", "нет входов", 0],
        ["Петрова Мария Ивановна", "02.12.2026 14:05", 1],
    ]
    assert doc.context["access_rows"] == 1


def test_without_an_access_report_the_page_says_so():
    doc = activity.build(mirror(), Request(week="2026-W49"), SETTINGS)[0]
    assert doc.context["access_rows"] == 0
    html = render_html(template_env(SETTINGS), doc)
    assert "не получен, разделы 2–4 пусты" in html
    assert "1. Записи учителей в журнале по дням недели" in html


def test_week_label_across_new_year():
    db = mirror()
    db.table("years").update(9, {"start_date": "2025-09-01"})
    doc = activity.build(db, Request(week="2026-W01"), SETTINGS)[0]
    assert doc.context["subtitle"] == "за неделю 29.12.2025–04.01.2026"
