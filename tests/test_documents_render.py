"""Documents D1–D10 from the hand-built mirror of `documents_fixture`: what each one says."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
from documents_fixture import (
    ABSENCES,
    SCHOOL,
    build_documents_mirror,
    group_id,
    groups,
    homework_for,
    lessons,
    topic_for,
)
from rendered import one, read_csv

from asurso_sync.demo import demo_documents
from asurso_sync.documents import KINDS, render, resolve_kind
from asurso_sync.documents.common import ReportError
from asurso_sync.documents.remarks import subject_of
from asurso_sync.documents.settings import ReportSettings


@pytest.fixture(scope="module")
def db():
    return build_documents_mirror()


def test_kinds_and_aliases():
    assert resolve_kind("d7") == "D7"
    assert resolve_kind("journal") == "D7"
    assert resolve_kind("summary-sheet") == "D8"
    assert resolve_kind("register") == "D10"
    assert sorted(KINDS) == sorted(["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D10"])
    with pytest.raises(ReportError, match="health groups"):
        resolve_kind("D9")
    with pytest.raises(ReportError, match="unknown document"):
        resolve_kind("D11")


def test_bad_arguments_are_clear_errors(db, tmp_path):
    with pytest.raises(ReportError, match="--month must look like 2025-10"):
        render(db, "D2", tmp_path, month="2025-13")
    with pytest.raises(ReportError, match=r"no class '9я' in the mirror \(classes: 5а, 5б\)"):
        render(db, "D5", tmp_path, class_name="9я")
    with pytest.raises(ReportError, match="only one of"):
        render(db, "D2", tmp_path, month="2025-10", term=1)
    with pytest.raises(ReportError, match="between 1 and 4"):
        render(db, "D6", tmp_path, term=5)


def test_d1_subject_drops_the_class_prefix_only():
    row = {"class_name": "5а", "subject_name": "Математика"}
    assert subject_of({**row, "group_name": "5а/Английский язык/1 гр"}) == "Английский язык/1 гр"
    assert subject_of({**row, "group_name": "5б/Математика"}) == "5б/Математика"
    assert subject_of({**row, "group_name": None}) == "Математика"


def expected_filling(group: int, start: str, end: str) -> list[int]:
    mine = [
        le for le in lessons() if le["subject_group_id"] == group and start <= le["date"] <= end
    ]
    return [
        len(mine),
        sum(1 for le in mine if topic_for(le["seq"])),
        sum(1 for le in mine if homework_for(le["seq"])),
    ]


def test_d2_filling_rows_and_rollups(db, tmp_path):
    paths = render(db, "filling", tmp_path, month="2025-10")
    table = read_csv(one(paths, ".groups.csv"))
    assert table[0][:7] == [
        "учитель",
        "класс",
        "предмет/группа",
        "уроков",
        "с темой",
        "с ДЗ",
        "с заданием",
    ]
    rows = {(r[0], r[2]): r for r in table[1:]}
    assert len(rows) == 8
    for (_teacher, name), r in rows.items():
        group = {
            "5а/Математика": 1101,
            "5б/Математика": 1201,
            "5а/Русский язык": 1102,
            "5б/Русский язык": 1202,
            "5а/Английский язык/1 гр": 1103,
            "5а/Английский язык/2 гр": 1104,
            "5б/Английский язык/1 гр": 1203,
            "5б/Английский язык/2 гр": 1204,
        }[name]
        assert [int(x) for x in r[3:6]] == expected_filling(group, "2025-10-01", "2025-10-31")
        assert r[6] == r[3]  # every fixture lesson has a topic assignment
    # the late R06 mark of 5б math (lesson 03.10) is counted
    assert rows[("Петрова Мария Ивановна", "5б/Математика")][9] == "1"
    html = one(paths, ".html").read_text(encoding="utf-8")
    assert "Отчёт о заполнении электронного журнала" in html
    assert "Итого: Петрова Мария Ивановна" in html and "По школе" in html


def test_d2_term_shows_period_marks_given(db, tmp_path):
    table = read_csv(one(render(db, "D2", tmp_path, term=1), ".groups.csv"))
    finals = {r[2]: (r[11], r[12]) for r in table[1:]}
    assert finals["5а/Математика"] == ("6", "6")
    assert finals["5а/Английский язык/1 гр"] == ("3", "3")


def test_d3_activity_week(db, tmp_path):
    paths = render(db, "activity", tmp_path, week="2025-W42")
    roles = read_csv(one(paths, ".roles.csv"))
    assert roles[1:] == [
        ["Завуч", "0", "0", "0", "1", "0", "0", "0", "1"],
        ["Родитель", "0", "1", "0", "0", "1", "1", "0", "2"],
        ["Учитель", "1", "1", "1", "0", "0", "0", "0", "2"],
    ]
    assert read_csv(one(paths, ".classes.csv"))[1:] == [
        ["5а", "1", "1", "0"],
        ["5б", "2", "1", "1"],
    ]
    assert read_csv(one(paths, ".teachers.csv"))[1:] == [
        ["Волков Дмитрий Андреевич", "08.10.2025 11:00", "0"],
        ["Кузнецова Ольга Сергеевна", "14.10.2025 10:20", "1"],
        ["Петрова Мария Ивановна", "15.10.2025 08:05", "3"],
    ]
    school_copy = one(paths, ".html").read_text(encoding="utf-8")
    assert "Лебедева Ольга Ивановна" not in school_copy  # parents' names: class copy only


def test_d3_class_teacher_copy_names_parents_of_that_class_only(db, tmp_path):
    html = one(render(db, "D3", tmp_path, week="2025-W42", class_name="5б"), ".html").read_text(
        encoding="utf-8"
    )
    assert "Не заходили на этой неделе: Лебедева Ольга Ивановна" in html
    assert "Заходили: Зайцев Роман Игоревич" in html
    assert "Белов Сергей Петрович" not in html  # a 5а parent


def test_d4_one_file_per_pupil_and_illness_hidden(db, tmp_path):
    paths = render(db, "progress", tmp_path, term=1, class_name="5а")
    assert len([p for p in paths if p.suffix == ".html"]) == 6
    html = one(paths, "_5а_Васильев_ГП.html").read_text(encoding="utf-8")
    assert "Васильев Глеб Павлович" in html and "Белова" not in html
    assert "01.10: УП" in html and ": Б" not in html and "по болезни" not in html
    assert (
        '<tbody><tr><td class="num">3</td><td class="num">3</td><td class="num">0</td>'
        '<td class="num">0</td><td class="num">0</td></tr></tbody>'
    ) in html
    subjects = read_csv(one(paths, "_5а_Васильев_ГП.subjects.csv"))
    assert [(r[0], r[-1]) for r in subjects[1:]] == [
        ("Английский язык", "4"),
        ("Математика", "3"),
        ("Русский язык", "5"),
    ]


def test_d4_show_illness(db, tmp_path):
    html = one(
        render(
            db, "D4", tmp_path, term=1, class_name="5а", settings=ReportSettings(show_illness=True)
        ),
        "_5а_Васильев_ГП.html",
    ).read_text(encoding="utf-8")
    assert "01.10: Б" in html and "по болезни" in html


def test_d5_class_progress_footer_and_decisions(db, tmp_path):
    paths = render(db, "class-progress", tmp_path, class_name="5а")
    footer = read_csv(one(paths, ".footer.csv"))
    assert footer[1:] == [
        ["всего обучающихся", "6"],
        ["успевают", "4"],
        ["на «5»", "1"],
        ["на «4» и «5»", "1"],
        ["с одной «3»", "1"],
        ["неуспевающие", "1"],
        ["не аттестованы", "1"],
        ["% успеваемости", "66,7"],
        ["% качества", "33,3"],
    ]
    pupils = read_csv(one(paths, ".pupils.csv"))
    assert pupils[5][:2] == ["5", "Дмитриев Егор Олегович"]
    assert pupils[5][-5:] == ["0", "0", "2", "1", "Математика"]
    assert pupils[6][6] == "н/а"  # Ершова, Математика, 1 четверть
    html = one(paths, ".html").read_text(encoding="utf-8")
    for text in [
        "Сводный отчёт об успеваемости класса",
        "Решение педсовета",
        "Переведен(а) в ____ класс условно",
        "Оставлен(а) на повторное обучение",
        "Выбыл(а) в порядке перевода",
        "Получил(а) основное общее образование",
        "Итоги по отметкам за: 1 четверть",
    ]:
        assert text in html
    assert html.count("☐ Переведен(а) в ____ класс, протокол") == 6  # blank for every pupil


def test_d6_attendance_days_and_lessons(db, tmp_path):
    paths = render(db, "attendance", tmp_path, class_name="5а")
    table = read_csv(one(paths, ".pupils.csv"))
    assert table[0] == [
        "период",
        "№",
        "ФИО",
        "дней: по уважит.",
        "дней: по неуважит.",
        "дней: причина не указана",
        "дней всего",
        "уроков: по уважит.",
        "уроков: по неуважит.",
        "уроков: причина не указана",
        "уроков всего",
        "опозданий",
    ]
    year = [r for r in table[1:] if r[0].startswith("Итого")]
    counts = {r[2]: [int(x) for x in r[3:]] for r in year}
    assert counts["Белова Дарья Сергеевна"] == [1, 0, 0, 1, 2, 0, 0, 2, 0]
    # 17.09: one lesson of two (Б → уважительная); 01.10: the whole day
    assert counts["Васильев Глеб Павлович"] == [1, 0, 0, 1, 3, 0, 0, 3, 0]
    assert counts["Григорьева Ева Андреевна"] == [0, 0, 0, 0, 0, 0, 0, 0, 2]
    html = one(paths, ".html").read_text(encoding="utf-8")
    assert "Сводный отчёт о посещаемости класса" in html and "<th>по болезни</th>" not in html


def test_d6_other_class_and_show_illness(db, tmp_path):
    table = read_csv(
        one(
            render(
                db,
                "D6",
                tmp_path,
                class_name="5б",
                term=1,
                settings=ReportSettings(show_illness=True),
            ),
            ".csv",
        )
    )
    counts = {r[2]: [int(x) for x in r[3:]] for r in table[1:]}
    # days: уваж, болезнь, неуваж, не указана, всего; lessons the same; late
    assert counts["Ильин Кирилл Денисович"] == [0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0]
    assert counts["Зайцева Инна Романовна"] == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]
    assert len(counts) == 6


def test_d7_journal_contents(db, tmp_path):
    paths = render(db, "journal", tmp_path, class_name="5а")
    html = one(paths, ".html").read_text(encoding="utf-8")
    for text in [
        "КЛАССНЫЙ ЖУРНАЛ",
        "5а класс",
        "2025/2026 учебный год",
        "Классный руководитель: Петрова Мария Ивановна",
        "Содержание",
        "Список обучающихся",
        "содержание уроков и домашние задания",
        "прошито, пронумеровано и скреплено печатью",
        "М.П.",
    ]:
        assert text in html
    topics = read_csv(one(paths, ".topics.csv"))
    mine = [le for le in lessons() if le["class_id"] == 101]
    assert len(topics) - 1 == len(mine)
    math = [r for r in topics[1:] if r[0] == "5а/Математика"]
    first = [le for le in mine if le["subject_group_id"] == group_id(101, 1)][0]
    assert math[0] == [
        "5а/Математика",
        "01.09.2025",
        topic_for(first["seq"]),
        homework_for(first["seq"]),
    ]
    marks = read_csv(one(paths, ".marks.csv"))
    absences = sorted((r[1], r[3], r[5]) for r in marks[1:] if r[5])
    expected = sorted(
        (d, name, "УП" if code == "Б" else code)
        for pupil, d, numbers, code in ABSENCES
        if pupil < 5010
        for name in [
            {
                5002: "Белова Дарья Сергеевна",
                5003: "Васильев Глеб Павлович",
                5004: "Григорьева Ева Андреевна",
            }[pupil]
        ]
        for _ in range(
            len(
                [
                    1
                    for le in mine
                    if le["date"] == d
                    and (numbers is None or le["number"] in numbers)
                    and _in_group(pupil, le["subject_group_id"])
                ]
            )
        )
    )
    assert absences == expected
    # the period-mark column of term 1 follows the last October lesson
    assert 'mm">1 п.</b>' in html and "<b> н/а  </b>" in html  # a head cell, a bold mark
    assert "Б" not in [r[5] for r in marks[1:]]


def _in_group(pupil: int, gid: int) -> bool:
    return any(g["id"] == gid and pupil in g["pupils"] for g in groups())


def test_d8_summary_sheet(db, tmp_path):
    paths = render(db, "D8", tmp_path, class_name="5б")
    html = one(paths, ".html").read_text(encoding="utf-8")
    for text in [
        "Сводная ведомость учёта успеваемости обучающихся",
        "5б класс",
        SCHOOL["full_name"],
        "Кузнецова Ольга Сергеевна",
        "Орлова Анна Петровна",
        "Решение педагогического совета",
        "протокол № ____",
        "М.П.",
        "не менее 25 лет",
    ]:
        assert text in html
    footer = dict(read_csv(one(paths, ".footer.csv"))[1:])
    assert footer == {
        "всего обучающихся": "6",
        "успевают": "6",
        "на «5»": "2",
        "на «4» и «5»": "3",
        "с одной «3»": "1",
        "неуспевающие": "0",
        "не аттестованы": "0",
        "% успеваемости": "100,0",
        "% качества": "83,3",
    }


def test_d10_register_from_archive_rows(db, tmp_path):
    rows = [
        {
            "number": 1,
            "class_name": "5а",
            "year": "2025/2026",
            "kind": "Электронный журнал (печатная форма)",
            "sheets": 14,
            "transferred_on": "30.06.2026 10:15",
            "location": "сейф",
            "digest": "ab" * 64,
            "bag": "2025-2026-journal-x",
        }
    ]
    paths = render(db, "register", tmp_path, register_rows=rows, register_head="cd" * 32)
    table = read_csv(one(paths, ".register.csv"))
    assert table[1] == [
        "1",
        "5а",
        "2025/2026",
        "Электронный журнал (печатная форма)",
        "14",
        "30.06.2026 10:15",
        "",
        "сейф",
        "",
        "",
        "",
        "ab" * 64,
        "2025-2026-journal-x",
    ]
    html = one(paths, ".html").read_text(encoding="utf-8")
    assert "Реестр документов, переданных на архивное хранение" in html
    assert "cd" * 32 in html  # the archive register's chain head anchors the paper copy


def test_files_are_owner_only(db, tmp_path):
    out = tmp_path / "reports"
    paths = render(db, "D5", out, class_name="5а")
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o600}


def test_render_accepts_a_mirror_path(tmp_path):
    path = tmp_path / "m.db"
    build_documents_mirror(path).close()
    paths = render(path, "D8", tmp_path / "out", class_name="5а")
    assert [p.name for p in paths] == [
        "D8_summary_sheet_2025-2026_5а.html",
        "D8_summary_sheet_2025-2026_5а.pupils.csv",
        "D8_summary_sheet_2025-2026_5а.pupils.xlsx",
        "D8_summary_sheet_2025-2026_5а.footer.csv",
        "D8_summary_sheet_2025-2026_5а.footer.xlsx",
    ]
    with pytest.raises(ReportError, match="does not exist"):
        render(tmp_path / "missing.db", "D8", tmp_path)


def test_demo_documents_renders_the_six_documents(db, tmp_path):
    made = demo_documents(db, tmp_path)
    assert sorted(made) == [
        ("D1", None),
        ("D2", None),
        ("D5", "5а"),
        ("D5", "5б"),
        ("D6", None),
        ("D7", "5а"),
        ("D7", "5б"),
        ("D8", "5а"),
        ("D8", "5б"),
    ]
    paths = [p for files in made.values() for p in files]
    folders = sorted({p.parent.name for p in paths})
    assert folders == [
        "D1_remarks",
        "D2_filling",
        "D5_class-progress",
        "D6_attendance",
        "D7_journal",
        "D8_summary-sheet",
    ]
    assert len([p for p in paths if p.parent.name == "D7_journal" and p.suffix == ".html"]) == 2


def test_default_periods_are_the_last_complete_ones(db, tmp_path):
    # The last sync finished on Friday 14.11.2025 (22:00 in Samara): November and the week of
    # 10–16.11 are not over, so D2 covers October, D3 the week of 03–09.11 and D4 term 1.
    assert dt.date(2025, 11, 14).isoformat() == max(le["date"] for le in lessons())
    names = [p.name for p in render(db, "D2", tmp_path)]
    assert "D2_filling_2025-10.html" in names
    names = [p.name for p in render(db, "D3", tmp_path)]
    assert "D3_activity_2025-W45.html" in names
    names = [p.name for p in render(db, "D4", tmp_path, class_name="5а")]
    assert "D4_progress_term1_5а_Алексеев_АИ.html" in names


def test_rendering_is_recorded_in_the_audit_log(tmp_path):
    mirror = build_documents_mirror()
    render(mirror, "D6", tmp_path, class_name="5а", term=1)
    rows = [
        (r["command"], r["detail"])
        for r in mirror.query("SELECT command, detail FROM audit_log ORDER BY id")
    ]
    assert rows == [("report", "D6 format=html documents=1 files=3 class=5а")]
