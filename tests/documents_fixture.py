"""A small hand-built mirror for the documents' tests: two classes of six pupils, three subjects.

Every number the tests assert follows from the tables below (no randomness), so a test can say
exactly which rows a document must show.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlite_utils import Database

from asurso_sync.mirror.db import open_mirror

SCHOOL = {
    "id": 1,
    "name": "ГБОУ ООШ №39 г.Сызрани",
    "full_name": "государственное бюджетное общеобразовательное учреждение Самарской области "
    "основная общеобразовательная школа № 39 города Сызрани городского округа Сызрань",
    "director": "Орлова Анна Петровна",
    "principal_uvr": "Смирнова Елена Викторовна",
}
TERMS = [
    (11, "1 четверть", "2025-09-01", "2025-10-26"),
    (12, "2 четверть", "2025-11-05", "2025-12-28"),
    (13, "3 четверть", "2026-01-12", "2026-03-22"),
    (14, "4 четверть", "2026-04-01", "2026-05-26"),
]
VACATION = ("2025-10-27", "2025-11-04")
TEACHERS = {
    201: "Петрова Мария Ивановна",
    202: "Кузнецова Ольга Сергеевна",
    203: "Волков Дмитрий Андреевич",
}
CLASSES = {101: ("5а", 201), 102: ("5б", 202)}
SUBJECTS = {
    1: ("Математика", "Матем."),
    2: ("Русский язык", "Рус.яз."),
    3: ("Английский язык", "Англ."),
}
STUDENTS = {
    101: [
        (5001, "Алексеев Артём Игоревич"),
        (5002, "Белова Дарья Сергеевна"),
        (5003, "Васильев Глеб Павлович"),
        (5004, "Григорьева Ева Андреевна"),
        (5005, "Дмитриев Егор Олегович"),
        (5006, "Ершова Жанна Викторовна"),
    ],
    102: [
        (5011, "Жуков Захар Ильич"),
        (5012, "Зайцева Инна Романовна"),
        (5013, "Ильин Кирилл Денисович"),
        (5014, "Климова Лада Петровна"),
        (5015, "Лебедев Марк Юрьевич"),
        (5016, "Морозова Нина Алексеевна"),
    ],
}
# weekday (0 = Monday) -> subject id, lesson number
TIMETABLE = {
    0: [(1, 1), (2, 2)],
    1: [(2, 1), (3, 2)],
    2: [(1, 1), (3, 2)],
    3: [(2, 1)],
    4: [(1, 1)],
}
LAST_LESSON_DAY = "2025-11-14"
# Term-1 period marks (math, russian, english) chosen so that D5's footer is known.
PERIOD_MARKS = {
    5001: ("5", "5", "5"),
    5002: ("4", "5", "4"),
    5003: ("3", "5", "4"),
    5004: ("3", "3", "4"),
    5005: ("2", "3", "3"),
    5006: ("н/а", "4", "3"),
    5011: ("5", "5", "5"),
    5012: ("5", "5", "5"),
    5013: ("4", "4", "5"),
    5014: ("4", "5", "4"),
    5015: ("4", "4", "4"),
    5016: ("3", "4", "4"),
}
# (student, date, lesson numbers or None for the whole day, code)
ABSENCES = [
    (5002, "2025-09-15", None, "УП"),
    (5003, "2025-09-17", (1,), "Б"),
    (5003, "2025-10-01", None, "Б"),
    (5004, "2025-09-22", (1,), "О"),
    (5004, "2025-10-08", (2,), "О"),
    (5012, "2025-10-20", (1,), "Н"),
    (5013, "2025-09-12", None, "НП"),
    (5013, "2025-11-10", (2,), "УП"),
]
SYNC_FINISHED = "2025-11-14T18:00:00+00:00"  # 22:00 in Samara


def group_id(class_id: int, subject_id: int, subgroup: int = 0) -> int:
    """5а Математика -> 1101, 5а Английский 1 гр -> 1103, 2 гр -> 1104."""
    base = 1000 + (class_id - 100) * 100
    return base + (subject_id if subject_id < 3 else 3 + subgroup)


def groups() -> list[dict]:
    rows = []
    for class_id, (cname, _) in CLASSES.items():
        for sid, (sname, _) in SUBJECTS.items():
            teacher = {1: 201, 2: 202, 3: 203}[sid]
            pupils = [p for p, _ in STUDENTS[class_id]]
            if sid == 3:
                for sub in (0, 1):
                    rows.append(
                        {
                            "id": group_id(class_id, sid, sub),
                            "class_id": class_id,
                            "subject_id": sid,
                            "name": f"{cname}/{sname}/{sub + 1} гр",
                            "hours": 68,
                            "teacher_id": teacher,
                            "pupils": pupils[:3] if sub == 0 else pupils[3:],
                        }
                    )
            else:
                rows.append(
                    {
                        "id": group_id(class_id, sid),
                        "class_id": class_id,
                        "subject_id": sid,
                        "name": f"{cname}/{sname}",
                        "hours": 102 if sid == 1 else 136,
                        "teacher_id": teacher,
                        "pupils": pupils,
                    }
                )
    return rows


def school_days() -> list[dt.date]:
    day = dt.date(2025, 9, 1)
    end = dt.date.fromisoformat(LAST_LESSON_DAY)
    out = []
    while day <= end:
        in_vacation = VACATION[0] <= day.isoformat() <= VACATION[1]
        if day.weekday() < 5 and not in_vacation:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def term_of(day: str) -> int:
    for tid, _, start, end in TERMS:
        if start <= day <= end:
            return tid
    raise ValueError(day)


def lessons() -> list[dict]:
    """Every lesson of the fixture, numbered in date order."""
    rows, seq = [], 0
    for day in school_days():
        for class_id in CLASSES:
            for sid, number in TIMETABLE[day.weekday()]:
                subs = (0, 1) if sid == 3 else (0,)
                for sub in subs:
                    seq += 1
                    rows.append(
                        {
                            "id": 90000 + seq,
                            "seq": seq,
                            "class_id": class_id,
                            "subject_id": sid,
                            "subject_group_id": group_id(class_id, sid, sub),
                            "date": day.isoformat(),
                            "number": number,
                        }
                    )
    return rows


def topic_for(seq: int) -> str | None:
    """Every 7th lesson has no topic (placeholder on the portal)."""
    return None if seq % 7 == 0 else f"Урок {seq}: повторение и закрепление"


def homework_for(seq: int) -> str | None:
    return None if seq % 5 == 0 else f"§ {seq % 40 + 1}, упр. {seq % 9 + 1}"


def mark_for(student_id: int, seq: int) -> str:
    return str(2 + (student_id + seq) % 4)


def build_documents_mirror(path: str | Path | None = None) -> Database:
    """Fill a mirror (in memory, or at `path`) with the fixture's school."""
    db = open_mirror(path) if path else open_mirror(memory=True)
    db["schools"].insert(SCHOOL)
    db["years"].insert(
        {"id": 2025, "name": "2025/2026", "start_date": "2025-09-01", "end_date": "2026-05-31"}
    )
    db["terms"].insert_all(
        {"id": t, "year_id": 2025, "name": n, "term_type_id": 1, "start_date": s, "end_date": e}
        for t, n, s, e in TERMS
    )
    db["vacations"].insert(
        {
            "id": 1,
            "year_id": 2025,
            "name": "Осенние каникулы",
            "start_date": VACATION[0],
            "end_date": VACATION[1],
        }
    )
    db["teachers"].insert_all({"id": i, "name": n} for i, n in TEACHERS.items())
    for class_id, (name, chief) in CLASSES.items():
        db["classes"].insert(
            {"id": class_id, "year_id": 2025, "name": name, "grade": "5", "letter": name[-1]}
        )
        db["class_teachers"].insert({"class_id": class_id, "teacher_id": chief})
    db["subjects"].insert_all(
        {"id": i, "name": n, "short_name": s} for i, (n, s) in SUBJECTS.items()
    )
    for class_id, pupils in STUDENTS.items():
        db["students"].insert_all(
            {
                "id": i,
                "class_id": class_id,
                "full_name": n,
                "free": 0,
                "individual_educ": 0,
                "added_date": "2025-09-01",
                "health_filled": 1,
            }
            for i, n in pupils
        )
    for g in groups():
        db["subject_groups"].insert(
            {k: g[k] for k in ("id", "class_id", "subject_id", "name", "hours")}
        )
        db["subject_group_teachers"].insert(
            {"subject_group_id": g["id"], "teacher_id": g["teacher_id"]}
        )
        db["subject_group_terms"].insert_all(
            {"subject_group_id": g["id"], "term_id": t[0]} for t in TERMS
        )
        db["subject_group_students"].insert_all(
            {"subject_group_id": g["id"], "student_id": p} for p in g["pupils"]
        )
    db["assignment_types"].insert_all(
        [
            {"id": 3, "name": "Домашнее задание", "abbr": "ДЗ", "sort_order": 15, "known": 1},
            {"id": 4, "name": "Контрольная работа", "abbr": "КР", "sort_order": 5, "known": 1},
            {"id": 10, "name": "Ответ на уроке", "abbr": "О", "sort_order": 1, "known": 1},
        ]
    )
    db["attendance_reasons"].insert_all(
        {"code": c, "local_code": c, "name": n, "known": 1}
        for c, n in [
            ("Н", "Отсутствовал"),
            ("О", "Опоздал"),
            ("УП", "Уважительная"),
            ("НП", "Неуважительная"),
            ("Б", "Болезнь"),
            ("ОСВ", "Освобожден"),
        ]
    )
    _fill_journal(db)
    _fill_period_marks(db)
    _fill_plans(db)
    _fill_access(db)
    _fill_violations(db)
    db["sync_runs"].insert(
        {
            "id": 1,
            "started_at": "2025-11-14T17:55:00+00:00",
            "finished_at": SYNC_FINISHED,
            "status": "ok",
            "mode": "full",
        }
    )
    return db


def _fill_journal(db: Database) -> None:
    members = {g["id"]: g["pupils"] for g in groups()}
    lesson_rows, assignment_rows, mark_rows, absence_rows = [], [], [], []
    absences = _absence_index()
    for le in lessons():
        seq, day, gid = le["seq"], le["date"], le["subject_group_id"]
        topic, homework = topic_for(seq), homework_for(seq)
        lesson_rows.append(
            {
                "id": le["id"],
                "subject_group_id": gid,
                "class_id": le["class_id"],
                "term_id": term_of(day),
                "date": day,
                "number": le["number"],
                "is_tkr": 0,
                "subject_name": SUBJECTS[le["subject_id"]][0],
                "topic": topic,
                "homework": homework,
            }
        )
        base = 300000 + seq * 10
        entered = f"{day}T15:00:00"
        assignment_rows.append(
            {
                "id": base,
                "lesson_id": le["id"],
                "subject_group_id": gid,
                "type_id": 10,
                "name": topic or "---Не указана---",
                "weight": 10,
                "due_date": day,
                "entered_at": entered,
                "entered_source": "portal",
            }
        )
        if homework:
            assignment_rows.append(
                {
                    "id": base + 1,
                    "lesson_id": le["id"],
                    "subject_group_id": gid,
                    "type_id": 3,
                    "name": homework,
                    "weight": 10,
                    "due_date": day,
                    "entered_at": entered,
                    "entered_source": "portal",
                }
            )
        is_kr = seq % 6 == 0
        if is_kr:
            assignment_rows.append(
                {
                    "id": base + 2,
                    "lesson_id": le["id"],
                    "subject_group_id": gid,
                    "type_id": 4,
                    "name": "Контрольная работа",
                    "weight": 20,
                    "due_date": day,
                    "entered_at": entered,
                    "entered_source": "portal",
                }
            )
        for pupil in members[gid]:
            code = absences.get((pupil, day, le["number"]))
            if code:
                absence_rows.append(
                    {
                        "lesson_id": le["id"],
                        "student_id": pupil,
                        "subject_group_id": gid,
                        "reason": code,
                        "entered_at": f"{day}T14:00:00",
                        "entered_source": "portal",
                    }
                )
                if code != "О":
                    continue
            late = seq % 11 == 0
            when = (dt.date.fromisoformat(day) + dt.timedelta(days=9)).isoformat() if late else day
            if (pupil + seq) % 3 == 0:
                mark_rows.append(
                    {
                        "assignment_id": base,
                        "student_id": pupil,
                        "lesson_id": le["id"],
                        "subject_group_id": gid,
                        "mark": mark_for(pupil, seq),
                        "mark_value": int(mark_for(pupil, seq)),
                        "duty_mark": 0,
                        "weight": 10,
                        "entered_at": f"{when}T16:00:00",
                        "entered_source": "portal",
                    }
                )
            if is_kr:
                mark_rows.append(
                    {
                        "assignment_id": base + 2,
                        "student_id": pupil,
                        "lesson_id": le["id"],
                        "subject_group_id": gid,
                        "mark": mark_for(pupil, seq + 1),
                        "mark_value": int(mark_for(pupil, seq + 1)),
                        "duty_mark": 0,
                        "weight": 20,
                        "entered_at": f"{day}T17:00:00",
                        "entered_source": "portal",
                    }
                )
    db["lessons"].insert_all(lesson_rows)
    db["assignments"].insert_all(assignment_rows)
    db["marks"].insert_all(mark_rows)
    db["attendance"].insert_all(absence_rows)


def _absence_index() -> dict[tuple[int, str, int], str]:
    out = {}
    for pupil, day, numbers, code in ABSENCES:
        weekday = dt.date.fromisoformat(day).weekday()
        for _, number in TIMETABLE[weekday]:
            if numbers is None or number in numbers:
                out[(pupil, day, number)] = code
    return out


def _fill_period_marks(db: Database) -> None:
    rows = []
    for g in groups():
        col = g["subject_id"] - 1
        for pupil in g["pupils"]:
            rows.append(
                {
                    "subject_group_id": g["id"],
                    "term_id": 11,
                    "student_id": pupil,
                    "mark": PERIOD_MARKS[pupil][col],
                    "entered_at": "2025-10-23T12:00:00",
                    "entered_source": "portal",
                }
            )
    db["period_marks"].insert_all(rows)


def _fill_plans(db: Database) -> None:
    for class_id in CLASSES:
        gid = group_id(class_id, 1)
        db["plans"].insert(
            {
                "subject_group_id": gid,
                "plan_id": gid * 10,
                "created_date": "2025-06-20",
                "lessons_count": 102,
                "hours_total": 102,
            }
        )
        db["plan_lessons"].insert_all(
            {
                "id": gid * 1000 + i,
                "subject_group_id": gid,
                "position": i,
                "name": f"Тема КТП {i}",
                "hours": 1,
                "hours_studied": 0,
                "last_study_day": None,
                "home_assignment": "§",
            }
            for i in range(1, 103)
        )


ACCESS = [
    # (user, role, class_id, entered_at) — week 2025-W42 is 13–19 Oct 2025.
    ("Петрова Мария Ивановна", "Учитель", 101, "2025-10-13T08:10:00"),
    ("Петрова Мария Ивановна", "Учитель", 102, "2025-10-13T09:00:00"),
    ("Петрова Мария Ивановна", "Учитель", 101, "2025-10-15T08:05:00"),
    ("Кузнецова Ольга Сергеевна", "Учитель", 102, "2025-10-14T10:20:00"),
    ("Волков Дмитрий Андреевич", "Учитель", 101, "2025-10-08T11:00:00"),
    ("Смирнова Елена Викторовна", "Завуч", 101, "2025-10-16T13:00:00"),
    ("Белов Сергей Петрович", "Родитель", 101, "2025-10-14T19:30:00"),
    ("Белов Сергей Петрович", "Родитель", 101, "2025-10-18T20:00:00"),
    ("Зайцев Роман Игоревич", "Родитель", 102, "2025-10-17T21:15:00"),
    ("Лебедева Ольга Ивановна", "Родитель", 102, "2025-10-02T18:00:00"),
]


def _fill_access(db: Database) -> None:
    db["journal_access"].insert_all(
        {
            "id": f"a{i}",
            "user_name": u,
            "role": r,
            "class_id": c,
            "class_name": CLASSES[c][0],
            "entered_at": at,
        }
        for i, (u, r, c, at) in enumerate(ACCESS, 1)
    )


VIOLATIONS = [
    # id, rule, status, teacher, class, group, lesson date, deadline, detail, found, fixed
    (
        "v1",
        "R01",
        "open",
        201,
        101,
        1101,
        "2025-10-06",
        "2025-10-06",
        "тема урока не указана",
        "2025-10-08T03:00:00+00:00",
        None,
    ),
    (
        "v2",
        "R02",
        "new",
        201,
        101,
        1101,
        "2025-11-07",
        "2025-11-07",
        "домашнее задание не задано",
        "2025-11-14T19:00:00+00:00",
        None,
    ),
    (
        "v3",
        "R06",
        "fixed",
        201,
        102,
        1201,
        "2025-10-03",
        "2025-10-08",
        "отметка выставлена позже срока",
        "2025-10-10T03:00:00+00:00",
        "2025-11-03T03:00:00+00:00",
    ),
    (
        "v4",
        "R12",
        "open",
        202,
        102,
        None,
        "2025-10-20",
        "2025-10-27",
        "причина отсутствия не указана",
        "2025-10-28T03:00:00+00:00",
        None,
    ),
    (
        "v5",
        "R01",
        "open",
        201,
        102,
        1201,
        "2025-09-10",
        "2025-09-10",
        "тема урока не указана",
        "2025-09-12T03:00:00+00:00",
        None,
    ),
    (
        "v6",
        "R02",
        "excused",
        201,
        101,
        1101,
        "2025-11-05",
        "2025-11-05",
        "домашнее задание не задано",
        "2025-11-07T03:00:00+00:00",
        None,
    ),
]


def _fill_violations(db: Database) -> None:
    db["violations"].insert_all(
        {
            "id": v,
            "rule": r,
            "severity": "violation",
            "evidence": "portal",
            "status": s,
            "teacher_id": t,
            "class_id": c,
            "subject_group_id": g,
            "lesson_date": d,
            "deadline": dl,
            "detail": det,
            "first_found_at": ff,
            "last_found_at": ff,
            "fixed_at": fx,
        }
        for v, r, s, t, c, g, d, dl, det, ff, fx in VIOLATIONS
    )
