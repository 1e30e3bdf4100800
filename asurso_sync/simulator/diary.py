"""The family side (CONTRACT §4): the diary of a parent's children or of the pupil."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from asurso_sync.simulator.calendar import BELLS, LESSON_MINUTES
from asurso_sync.simulator.model import Lesson
from asurso_sync.simulator.payloads import diary_assignments, nick
from asurso_sync.simulator.state import Routes, Session, State
from asurso_sync.simulator.wsgi import Request, Response, forbidden, iso, json_response


def family(session: Session) -> list[int]:
    """The pupils whose diary this session may read."""
    user = session.user
    if session.role_id == 4 and user.student_id is not None:
        return [user.student_id]
    if session.role_id == 2:
        return list(user.children)
    return []


def diary_init(st: State, req: Request, session: Session | None) -> Response:
    """The children of a parent (the pupil for a pupil's account); a staff account gets 401
    without `auth-error` (its session stays alive), as the real portal does."""
    assert session is not None
    if session.is_staff:
        return json_response({"message": "Нет доступа к дневнику"}, 401)
    kids = family(session)
    school = st.school
    no_class = st.quirk("diary_class0")
    monday = st.as_of - dt.timedelta(days=st.as_of.weekday())
    return json_response(
        {
            "students": [
                {
                    "studentId": sid,
                    "nickName": nick(school.students[sid].name),
                    "className": None
                    if no_class
                    else school.classes[school.students[sid].class_id].name,
                    "classId": 0 if no_class else school.students[sid].class_id,
                    "iupGrade": 0,
                }
                for sid in kids
            ],
            "currentStudentId": 0,
            "weekStart": iso(monday),
            "yaClass": False,
            "weight": True,
            "maxMark": 5,
            "withLaAssigns": True,
        }
    )


def diary_args(
    st: State, req: Request, session: Session
) -> tuple[int, dt.date, dt.date] | Response:
    sid = req.int_arg("studentId")
    if sid is None or sid not in family(session):
        return forbidden()
    try:
        start = dt.date.fromisoformat((req.arg("weekStart") or "")[:10])
        end = dt.date.fromisoformat((req.arg("weekEnd") or "")[:10])
    except ValueError:
        return json_response({"message": "weekStart and weekEnd are required"}, 400)
    return sid, start, end


def pupil_days(
    st: State, sid: int, start: dt.date, end: dt.date
) -> Iterator[tuple[dt.date, list[Lesson]]]:
    """(day, the pupil's lessons that day) for each day of [start, end] up to as_of."""
    school = st.school
    student = school.students[sid]
    mine = set(school.groups_by_student.get(sid, ()))
    day = start
    while day <= end and day <= st.view.as_of:
        lessons = school.lessons_by_class_day.get((student.class_id, day), ())
        yield day, [les for les in lessons if les.sg_id in mine]
        day += dt.timedelta(days=1)


def diary(st: State, req: Request, session: Session | None) -> Response:
    assert session is not None
    args = diary_args(st, req, session)
    if isinstance(args, Response):
        return args
    sid, start, end = args
    school, view = st.school, st.view
    student = school.students[sid]
    days = []
    for day, day_lessons in pupil_days(st, sid, start, end):
        lessons = []
        for les in day_lessons:
            h, m = BELLS.get(les.number, (14, 0))
            stop = h * 60 + m + LESSON_MINUTES
            item: dict[str, Any] = {
                "classmeetingId": les.id,
                "day": iso(day),
                "number": les.number,
                "relay": 1,
                "room": f"{200 + les.sg_id % 40}",
                "startTime": f"{h:02d}:{m:02d}",
                "endTime": f"{stop // 60:02d}:{stop % 60:02d}",
                "subjectName": school.subjects[school.groups[les.sg_id].subject_id].name,
                "isEaLesson": False,
            }
            assigns = diary_assignments(school, view, les.id, sid)
            if assigns:
                item["assignments"] = assigns
            lessons.append(item)
        if lessons:
            days.append({"date": iso(day), "lessons": lessons})
    term = school.calendar.term_of(start) or school.calendar.term_of(end)
    return json_response(
        {
            "weekStart": iso(start),
            "weekEnd": iso(end),
            "weekDays": days,
            "laAssigns": [],
            "termName": term.name if term else None,
            "className": school.classes[student.class_id].name,
        }
    )


def past_mandatory(st: State, req: Request, session: Session | None) -> Response:
    assert session is not None
    args = diary_args(st, req, session)
    if isinstance(args, Response):
        return args
    sid, start, end = args
    school, view = st.school, st.view
    out = []
    for _day, day_lessons in pupil_days(st, sid, start, end):
        for les in day_lessons:
            for a in school.assignments_by_lesson.get(les.id, ()):
                shown = view.assignment(a)
                if shown is None:
                    continue
                for m in school.marks_by_assignment.get(a.id, ()):
                    if m.student_id == sid and m.duty and view.mark(m) is not None:
                        out.append(
                            {
                                "id": a.id,
                                "typeId": a.type_id,
                                "assignmentName": shown[0],
                                "weight": a.weight,
                                "dueDate": iso(a.due),
                                "classMeetingId": les.id,
                                "subjectName": school.subjects[
                                    school.groups[les.sg_id].subject_id
                                ].name,
                            }
                        )
    return json_response(out)


ROUTES: Routes = {
    ("GET", "/webapi/student/diary/init"): diary_init,
    ("GET", "/webapi/student/diary"): diary,
    ("GET", "/webapi/student/diary/pastMandatory"): past_mandatory,
}
