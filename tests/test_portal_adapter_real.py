"""Every recorded real answer (tests/fixtures/real/, copies of ../shared/portal/real/) through its
`parse_*` function: recorded JSON in, exact rows out (CONTRACT §7). Then the strict side: keys
that identify rows and the types of kept fields raise `LayoutError` naming endpoint, key and ids.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from asurso_sync.errors import LayoutError
from asurso_sync.portal import adapter

REAL = Path(__file__).parent / "fixtures" / "real"


def load(name: str):
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def journal(name: str):
    return adapter.parse_journal(
        load(name), sg_id=1201, term_id=26904, class_id=105007, subject_name="Математика"
    )


def test_fixtures_hold_the_31_answers_and_the_readme_of_the_shared_real_folder():
    # Every answer below goes through its parse_* function, except the announcements, which the
    # sync does not read.
    ours = {p.name for p in REAL.iterdir()}
    assert "README.md" in ours
    assert len([n for n in ours if n.endswith((".json", ".html"))]) == 31


# --- login -----------------------------------------------------------------------------------


def test_asurso_2022_login_has_empty_user_roles():
    assert adapter.parse_login(load("login_asurso_2022.json")) == {
        "at": "0",
        "timeout_ms": 3600000,
        "entry_point": "/asp/SecurityWarning.asp",
        "roles": [],
        "organization_id": 0,
        "organization": "x",
    }


def test_swagger_login_user_roles_as_an_object():
    assert adapter.parse_login(load("login_swagger_5.10.json")) == {
        "at": "00168638015429814024329375",
        "timeout_ms": 900000,
        "entry_point": "/asp/SecurityWarning.asp",
        "roles": [{"id": 2, "name": "Родитель"}],
        "organization_id": 22,
        "organization": "МБОУ СОШ №19",
    }


def test_swagger_login_user_roles_as_a_list_of_role_objects():
    parsed = adapter.parse_login(load("login_swagger_5.10_rolelist.json"))
    assert parsed["roles"] == [{"id": 2, "name": "Родитель"}]
    assert parsed["organization_id"] is None


def test_logindata_vendor_template_without_version():
    assert adapter.parse_logindata(load("logindata_vendor_template.json")) == {
        "school_login": True,
        "esia_login": True,
        "esia_main_auth": False,
        "product": "Сетевой Город. Образование",
        "version": None,
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("getdata_sgoapi_docs.json", {"lt": "878792729", "ver": "679337794", "salt": "9369808045"}),
        (
            "getdata_netcitybot_models.json",
            {"lt": "850328404", "ver": "709065789", "salt": "20371071715"},
        ),
    ],
)
def test_getdata(name, expected):
    assert adapter.parse_getdata(load(name)) == expected


def test_schools_search_answer():
    rows = adapter.parse_schools(load("sgoapp_NetSchoolExpectedResults_schools.json"))
    assert len(rows) == 18
    assert rows[0] == {
        "id": 510,
        "name": "МАДОУ «ДС № 68 г. Челябинска» (г. Челябинск) ",
        "short_name": "МАДОУ «ДС № 68 г. Челябинска»",
    }


# --- staff structure -------------------------------------------------------------------------


def test_staff_classes_with_chiefs():
    assert adapter.parse_classes(load("staff_classes_2021_sgo_api.json"), 8987) == {
        "classes": [{"id": 105007, "year_id": 8987, "name": "1а", "grade": "1", "letter": "а"}],
        "class_teachers": [{"class_id": 105007, "teacher_id": 811645}],
        "teachers": [{"id": 811645, "name": "Попов Илья Андреевич"}],
    }


def test_classes_without_chiefs_key_have_no_class_teacher():
    raw = load("staff_classes_2021_sgo_api.json")
    del raw[0]["chiefs"]
    assert adapter.parse_classes(raw, 8987)["class_teachers"] == []


def test_staff_subjects_terms_vacations_students():
    assert adapter.parse_subjects(load("staff_subjects_2021_sgo_api.json")) == [
        {"id": 47070, "name": "Технология мальчики", "short_name": "Технология мальчики"}
    ]
    assert adapter.parse_terms(load("staff_terms_2021_sgo_api.json")) == [
        {
            "id": 26904,
            "year_id": 8987,
            "name": "1 четверть",
            "term_type_id": 1,
            "start_date": "2021-09-01",
            "end_date": "2021-10-31",
        }
    ]
    assert adapter.parse_vacations(load("staff_vacations_2021_sgo_api.json"), 8987) == [
        {
            "id": 111491,
            "year_id": 8987,
            "name": "Осенние каникулы",
            "start_date": "2021-10-25",
            "end_date": "2021-10-31",
        }
    ]
    assert adapter.parse_students(load("staff_studentList_2021_sgo_api.json"), 105007) == [
        {
            "id": 937123,
            "class_id": 105007,
            "full_name": "Соколова Елена Викторовна",
            "free": None,
            "individual_educ": None,
            "added_date": None,
            "health_filled": None,
        }
    ]


def test_assignment_types_and_attendance_reasons():
    assert adapter.parse_assignment_types(load("assignment_types_swagger_5.10.json")) == [
        {"id": 3, "name": "Домашнее задание", "abbr": "ДЗ", "sort_order": 15, "known": 1}
    ]
    assert adapter.parse_attendance_reasons(load("vendorshape_attendance_reasons.json")) == [
        {"code": "ОТ", "local_code": "ОТ", "name": None, "known": 1},
        {"code": "ОСВ", "local_code": "ОСВ", "name": None, "known": 1},
    ]


def test_subject_groups_without_teachers_expand_ask_for_another_source():
    assert adapter.parse_subject_groups(load("vendorshape_subjectgroups_no_teachers.json")) == {
        "subject_groups": [
            {
                "id": 1201,
                "class_id": 105007,
                "subject_id": 47070,
                "name": "5а/Математика",
                "hours": None,
            }
        ],
        "subject_group_teachers": [],
        "subject_group_terms": [{"subject_group_id": 1201, "term_id": 26904}],
        "teachers": [],
        "teachers_unknown": [{"subject_group_id": 1201, "class_id": 105007}],
    }


def test_subject_group_terms_as_objects_and_teachers_as_ids():
    raw = load("vendorshape_subjectgroups_no_teachers.json")
    raw[0]["terms"] = [{"id": 26904, "name": "1 четверть"}, 26905]
    raw[0]["teachers"] = [811645, {"id": 811646, "name": "Попова И.А."}]
    parsed = adapter.parse_subject_groups(raw)
    assert parsed["subject_group_terms"] == [
        {"subject_group_id": 1201, "term_id": 26904},
        {"subject_group_id": 1201, "term_id": 26905},
    ]
    assert parsed["teachers"] == [
        {"id": 811645, "name": None},
        {"id": 811646, "name": "Попова И.А."},
    ]
    assert parsed["teachers_unknown"] == []


def test_subjectgroups_terms_answer_gives_teachers():
    raw = [
        {"termId": 26904, "termName": "1 четверть", "teachers": [{"id": 7, "name": "Петрова"}]},
        {"termId": 26905, "termName": "2 четверть", "teachers": [{"id": 7, "name": "Петрова"}]},
    ]
    assert adapter.parse_subject_group_terms(raw, 1201) == {
        "subject_group_terms": [
            {"subject_group_id": 1201, "term_id": 26904},
            {"subject_group_id": 1201, "term_id": 26905},
        ],
        "subject_group_teachers": [{"subject_group_id": 1201, "teacher_id": 7}],
        "teachers": [{"id": 7, "name": "Петрова"}],
    }


def test_subject_plan_and_falsy_plan_id_is_no_plan():
    assert adapter.parse_plan(load("vendorshape_subjectplan.json"), 1201) == {
        "plans": [
            {
                "subject_group_id": 1201,
                "plan_id": 77,
                "created_date": None,
                "lessons_count": 1,
                "hours_total": 1,
            }
        ],
        "plan_lessons": [
            {
                "id": 1,
                "subject_group_id": 1201,
                "position": 1,
                "name": "Натуральные числа",
                "hours": 1,
                "hours_studied": 1,
                "last_study_day": "2026-09-01",
                "home_assignment": None,
            }
        ],
    }
    assert adapter.parse_plan(load("vendorshape_subjectplan_none.json"), 1201) == {
        "plans": [],
        "plan_lessons": [],
    }


# --- journals --------------------------------------------------------------------------------

LESSONS = [
    {
        "id": 90001,
        "subject_group_id": 1201,
        "class_id": 105007,
        "term_id": 26904,
        "date": "2026-09-01",
        "number": None,
        "is_tkr": 0,
        "subject_name": "Математика",
        "plan_lesson_id": None,
        "plan_lesson_name": None,
        "topic": None,
        "homework": None,
    },
    {
        "id": 90002,
        "subject_group_id": 1201,
        "class_id": 105007,
        "term_id": 26904,
        "date": "2026-09-03",
        "number": None,
        "is_tkr": 0,
        "subject_name": "Математика",
        "plan_lesson_id": None,
        "plan_lesson_name": None,
        "topic": None,
        "homework": None,
    },
]
ASSIGNMENTS = [
    {
        "id": a_id,
        "lesson_id": 90001,
        "subject_group_id": 1201,
        "type_id": type_id,
        "name": None,
        "weight": None,
        "due_date": None,
        "created_at": None,
        "entered_at": None,
    }
    for a_id, type_id in ((300001, 10), (300002, 3))
]
MARKS = [
    {
        "assignment_id": 300001,
        "student_id": 5001,
        "lesson_id": 90001,
        "subject_group_id": 1201,
        "mark": "5",
        "mark_value": 5,
        "duty_mark": 0,
        "weight": None,
        "entered_at": None,
    },
    {
        "assignment_id": 300002,
        "student_id": 5002,
        "lesson_id": 90001,
        "subject_group_id": 1201,
        "mark": ".",
        "mark_value": None,
        "duty_mark": 0,
        "weight": None,
        "entered_at": None,
    },
]
ATTENDANCE = [
    {
        "lesson_id": 90002,
        "student_id": 5002,
        "subject_group_id": 1201,
        "reason": "ОТ",
        "entered_at": None,
    }
]
PERIOD_MARKS = [
    {
        "subject_group_id": 1201,
        "term_id": 26904,
        "student_id": 5001,
        "mark": "5",
        "entered_at": None,
    },
    {
        "subject_group_id": 1201,
        "term_id": 26904,
        "student_id": 5002,
        "mark": "н/а",
        "entered_at": None,
    },
]
PUPILS = [
    {
        "id": 5001,
        "class_id": 105007,
        "full_name": "Лебедев Павел Николаевич",
        "free": 0,
        "individual_educ": 0,
        "added_date": None,
        "health_filled": None,
    },
    {
        "id": 5002,
        "class_id": 105007,
        "full_name": "Иванова Анна Петровна 1",
        "free": 0,
        "individual_educ": 0,
        "added_date": None,
        "health_filled": None,
    },
]


def expected_journal(marks=MARKS, attendance=ATTENDANCE, period_marks=PERIOD_MARKS) -> dict:
    return {
        "lessons": LESSONS,
        "assignments": ASSIGNMENTS,
        "marks": marks,
        "attendance": attendance,
        "period_marks": period_marks,
        "subject_group_students": [
            {"subject_group_id": 1201, "student_id": 5001},
            {"subject_group_id": 1201, "student_id": 5002},
        ],
        "journal_students": PUPILS,
    }


def test_journal_totals_without_term_id_belong_to_the_requested_term():
    assert journal("vendorshape_journal_minimal.json") == expected_journal()


def test_journal_totals_with_term_id_the_contract_shape():
    assert journal("vendorshape_journal_totals_with_termId.json") == expected_journal()


def test_journal_totals_null_means_no_period_marks():
    assert journal("vendorshape_journal_totals_null.json") == expected_journal(period_marks=[])


def test_journal_without_marks_and_attendance_keys():
    assert journal("vendorshape_journal_no_marks_attendance.json") == expected_journal(
        marks=[], attendance=[]
    )


# --- the diary -------------------------------------------------------------------------------


def test_diary_init_class_zero_is_no_class():
    assert adapter.parse_diary_init(load("diary_init_netcity_2019.json")) == [
        {"id": 64413, "name": "Иванова Анна Петровна", "class_id": None, "class_name": None}
    ]


def test_netcity_2019_diary_week():
    assert adapter.parse_diary(
        load("diary_netcity_2019.json"), student_id=64413, class_id=None
    ) == {
        "lessons": [
            {
                "id": 5661220,
                "subject_group_id": None,
                "class_id": None,
                "term_id": None,
                "date": "2019-10-25",
                "number": 2,
                "is_tkr": None,
                "subject_name": "Математика",
                "plan_lesson_id": None,
                "plan_lesson_name": None,
                "topic": None,
                "homework": "№302, 304",
            }
        ],
        "assignments": [
            {
                "id": 3730337,
                "lesson_id": 5661220,
                "subject_group_id": None,
                "type_id": 3,
                "name": "№302, 304",
                "weight": 0,
                "due_date": "2019-10-25",
                "created_at": None,
                "entered_at": None,
            }
        ],
        "marks": [],
    }


def test_sgo74_diary_week_with_marks_and_unknown_types():
    parsed = adapter.parse_diary(
        load("diary_sgo74_2022-01-10.json"), student_id=472262, class_id=None
    )
    assert {k: len(v) for k, v in parsed.items()} == {"lessons": 19, "assignments": 17, "marks": 2}
    assert parsed["lessons"][0] == {
        "id": 192287987,
        "subject_group_id": None,
        "class_id": None,
        "term_id": None,
        "date": "2022-01-13",
        "number": 1,
        "is_tkr": None,
        "subject_name": "Физика профиль",
        "plan_lesson_id": None,
        "plan_lesson_name": None,
        "topic": "Основное уравнение молекулярно-кинетической теории (§ 52).",
        "homework": "повторить формулы МКТ",
    }
    assert parsed["marks"] == [
        {
            "assignment_id": 216833258,
            "student_id": 472262,
            "lesson_id": 192287987,
            "subject_group_id": None,
            "mark": "5",
            "mark_value": 5,
            "duty_mark": 0,
            "weight": 0,
            "entered_at": None,
        },
        {
            "assignment_id": 218553105,
            "student_id": 472262,
            "lesson_id": 191128565,
            "subject_group_id": None,
            "mark": "4",
            "mark_value": 4,
            "duty_mark": 0,
            "weight": 0,
            "entered_at": None,
        },
    ]


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("diary_sgo74_2022-01-17.json", {"lessons": 35, "assignments": 15, "marks": 0}),
        ("diary_sgo74_2022-01-24.json", {"lessons": 35, "assignments": 40, "marks": 12}),
        (
            "sgoapp_NetSchoolExpectedResults_diary.json",
            {"lessons": 34, "assignments": 39, "marks": 10},
        ),
        ("sgoapp_TestData_007bc9a_DIARY.json", {"lessons": 34, "assignments": 39, "marks": 10}),
    ],
)
def test_other_real_diary_weeks_parse_every_lesson(name, counts):
    raw = load(name)
    parsed = adapter.parse_diary(raw, student_id=1, class_id=None)
    assert {k: len(v) for k, v in parsed.items()} == counts
    served = [les["classmeetingId"] for d in raw["weekDays"] for les in d["lessons"]]
    assert [row["id"] for row in parsed["lessons"]] == served
    types = {
        a["typeId"]
        for d in raw["weekDays"]
        for les in d["lessons"]
        for a in les.get("assignments") or []
    }
    assert {a["type_id"] for a in parsed["assignments"]} == types


# --- the journal access report: both real layouts, by header text ----------------------------


def access_id(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:20]


def test_access_report_2013_per_class_tables():
    page = (REAL / "vendorshape_journalaccess_2013_asp.html").read_bytes()
    assert adapter.parse_access_report(page, -1, {"5а": 105007}) == [
        {
            "id": access_id(
                "2013", "Петрова М.И.", "105007", "5а", "5а/Математика", "2025-12-08T14:05:00"
            ),
            "user_name": "Петрова М.И.",
            "role": None,
            "class_id": 105007,
            "class_name": "5а",
            "entered_at": "2025-12-08T14:05:00",
            "subject_name": "5а/Математика",
            "action": "Изменение оценок",
            "lesson_date": None,
            "layout": "2013",
        }
    ]


def test_access_report_2018_seven_columns_among_two_print_tables():
    page = (REAL / "vendorshape_journalaccess_2018_7col.html").read_bytes()
    assert adapter.parse_access_report(page, 105007) == [
        {
            "id": access_id(
                "2018", "Петрова М.И.", "105007", "5", "Математика", "2018-12-08T14:05:00"
            ),
            "user_name": "Петрова М.И.",
            "role": None,
            "class_id": 105007,
            "class_name": "5",
            "entered_at": "2018-12-08T14:05:00",
            "subject_name": "Математика",
            "action": "Изменение оценки",
            "lesson_date": "2018-12-07",
            "layout": "2018",
        }
    ]


def test_access_report_2018_found_by_header_even_when_tables_swap():
    page = (REAL / "vendorshape_journalaccess_2018_7col.html").read_text(encoding="utf-8")
    first = page.index('<table class="table-print"><tr><td>Учебный')
    second = page.index('<table class="table-print"><tr><th>')
    end = page.index("</table>", second) + len("</table>")
    swapped = page[:first] + page[second:end] + page[first:second] + page[end:]
    rows = adapter.parse_access_report(swapped.encode(), 105007)
    assert [r["subject_name"] for r in rows] == ["Математика"]


def test_access_report_rows_that_yield_nothing_are_an_error():
    page = (REAL / "vendorshape_journalaccess_2018_7col.html").read_text(encoding="utf-8")
    broken = page.replace("08.12.2018 14:05", "вчера")
    with pytest.raises(LayoutError, match="Дата"):
        adapter.parse_access_report(broken.encode(), 105007)


def test_access_report_unknown_header_is_an_error_not_an_empty_report():
    page = (REAL / "vendorshape_journalaccess_2018_7col.html").read_text(encoding="utf-8")
    with pytest.raises(LayoutError, match="header"):
        adapter.parse_access_report(page.replace("Пользователь", "Сотрудник").encode(), 105007)


def test_access_report_contract_rows_read_markup_in_cells_and_skip_a_nested_table():
    page = """<html><body><h2 class="main-report-title">Доступ к журналу</h2>
    <table class="table-print">
      <tr><th>ФИО</th><th>Роль</th><th>Класс</th><th>Дата и время входа</th></tr>
      <tr><td>Петрова<br>М.И.</td><td>Учитель</td><td>5а</td><td>08.12.2025 14:05:09</td></tr>
      <tr><td colspan="4"><table><tr><td>Сидоров</td><td>Учитель</td><td>5а</td>
          <td>31.02.2025 10:00</td></tr></table></td></tr>
      <tr><td>Орлова  И.А.<!-- note --></td><td>Завуч</td><td>5а</td><td>1.9.2025</td></tr>
    </table></body></html>""".encode()
    rows = adapter.parse_access_report(page, 105007)
    assert [(r["user_name"], r["role"], r["entered_at"], r["layout"]) for r in rows] == [
        ("Петрова М.И.", "Учитель", "2025-12-08T14:05:09", "contract"),
        ("Орлова И.А.", "Завуч", "2025-09-01T00:00:00", "contract"),
    ]


def test_access_report_impossible_date_is_an_error_naming_its_column():
    page = (REAL / "vendorshape_journalaccess_2018_7col.html").read_text(encoding="utf-8")
    broken = page.replace("08.12.2018 14:05", "31.02.2018 14:05")
    with pytest.raises(LayoutError, match="Дата"):
        adapter.parse_access_report(broken.encode(), 105007)


@pytest.mark.parametrize("stamp", ["08.12.2018 24:05", "08.12.2018 14:61", "08.12.2018 14:05 x"])
def test_access_report_impossible_time_of_day_is_an_error_naming_its_column(stamp):
    page = (REAL / "vendorshape_journalaccess_2018_7col.html").read_text(encoding="utf-8")
    broken = page.replace("08.12.2018 14:05", stamp)
    with pytest.raises(LayoutError, match="Дата"):
        adapter.parse_access_report(broken.encode(), 105007)


# --- strict where it matters -----------------------------------------------------------------


def test_full_name_as_a_number_is_a_layout_error_naming_endpoint_key_and_ids():
    raw = [{"id": 937123, "fullName": 12345}]
    with pytest.raises(LayoutError) as err:
        adapter.parse_students(raw, 105007)
    assert str(err.value) == (
        "the portal's answer to grade/studentList has a wrong 'fullName': expected text, "
        "got int 12345 (class 105007, pupil 937123)"
    )


def test_string_id_is_a_layout_error_not_an_integrity_error():
    with pytest.raises(LayoutError) as err:
        adapter.parse_students([{"id": "937123", "fullName": "x"}], 105007)
    assert "grade/studentList" in str(err.value) and "'id'" in str(err.value)
    assert err.value.endpoint == "grade/studentList" and err.value.key == "id"


def test_journal_mark_without_student_id_names_the_group_term_and_assignment():
    raw = load("vendorshape_journal_minimal.json")
    del raw["journals"][0]["marks"][0]["studentId"]
    with pytest.raises(LayoutError) as err:
        journal_raw = raw
        adapter.parse_journal(
            journal_raw, sg_id=1201, term_id=26904, class_id=105007, subject_name=None
        )
    assert err.value.key == "studentId"
    assert "subject group 1201, term 26904, mark on assignment 300001" in str(err.value)


def test_journal_lesson_without_date_is_a_layout_error():
    raw = load("vendorshape_journal_minimal.json")
    raw["journals"][0]["classMeeting"][1]["date"] = None
    with pytest.raises(LayoutError, match="lesson 90002"):
        journal_raw = raw
        adapter.parse_journal(journal_raw, sg_id=1201, term_id=26904, class_id=1, subject_name=None)


def test_access_report_layout_is_named_even_without_rows():
    assert (
        adapter.access_report_layout(
            (REAL / "vendorshape_journalaccess_2013_asp.html").read_bytes()
        )
        == "2013"
    )
    assert (
        adapter.access_report_layout(
            (REAL / "vendorshape_journalaccess_2018_7col.html").read_bytes()
        )
        == "2018"
    )
    empty = (
        '<h2 class="main-report-title">Отчет</h2><table class="table-print"><tr><th>ФИО</th>'
        "<th>Роль</th><th>Класс</th><th>Дата и время входа</th></tr></table>"
    ).encode()
    assert adapter.access_report_layout(empty) == "contract"
    assert adapter.parse_access_report(empty, 1) == []
