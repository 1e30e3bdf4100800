"""The `grade/journal` and `subjectplans/getForSubjectGroup` answers read straight from their
bytes into typed structs (msgspec).

The journal answers are nine tenths of a sync's bytes (the plans most of the rest). Decoding them with `json.loads` and then
checking every value in Python cost ~0.7 s of CPU per school sync; msgspec decodes and checks
the types in one pass in C (~0.2 s). The rows are exactly those of `adapter.parse_journal`
and `adapter.parse_plan` (a test compares both on every journal and plan of the simulated
school and on the real captures).

Only the usual answer is read here. Anything else — a type the structs do not name, a date
that is not ISO, a key missing, invalid JSON — gives None, and the client then decodes the
answer with `json.loads` and reads it the careful way (`adapter.parse_journal`), which accepts
what the contract allows, names a bad value with where it sits, and retries a broken body.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from asurso_sync.portal.adapter import (
    HOMEWORK_TYPE_ID,
    TOPIC_TYPE_ID,
    Records,
    clean_topic,
    mark_text_and_value,
    moment,
)

Number = int | float | None
MarkValue = str | int | float | None


class _Pupil(msgspec.Struct):
    id: int
    fullName: str | None = None
    free: Any = None
    individualEduc: Any = None


class _Assignment(msgspec.Struct):
    id: int
    typeId: int
    assignmentName: str | None = None
    weight: Number = None
    dueDate: str | None = None
    createdDate: str | None = None


class _Meeting(msgspec.Struct):
    id: int
    date: str
    number: Any = None
    isTkr: Any = None
    lessonId: int | None = None
    lessonName: str | None = None
    assignments: list[_Assignment] | None = None


class _Mark(msgspec.Struct):
    assignmentId: int
    studentId: int
    mark: MarkValue
    dutyMark: Any = None
    weight: Number = None
    date: str | None = None


class _Absence(msgspec.Struct):
    classmeetingId: int
    studentId: int
    reason: str | None
    date: str | None = None


class _PeriodMark(msgspec.Struct):
    studentId: int
    mark: MarkValue
    date: str | None = None


class _Total(msgspec.Struct):
    termId: int | None = None
    marks: list[_PeriodMark] | None = None


class _Journal(msgspec.Struct):
    subjectGroupId: int
    students: list[_Pupil] | None
    classMeeting: list[_Meeting] | None
    marks: list[_Mark] | None = None
    attendance: list[_Absence] | None = None
    totals: list[_Total] | None = None


class _Answer(msgspec.Struct):
    journals: list[_Journal] | None


_DECODER = msgspec.json.Decoder(_Answer)


class _PlanLesson(msgspec.Struct):
    id: int
    lessonName: str | None = None
    hours: Number = None
    hoursStudied: Number = None
    lastStudyDay: str | None = None
    homeAssignment: str | None = None


class _Plan(msgspec.Struct):
    subjectPlanId: int | None
    lessons: list[_PlanLesson] | None
    createdDate: str | None = None


_PLAN_DECODER = msgspec.json.Decoder(_Plan)


class _Unusual(Exception):
    """A value the careful reading must judge (a date that is not ISO)."""


def read_journal(
    body: bytes, *, sg_id: int, term_id: int, class_id: int, subject_name: str | None
) -> Records | None:
    """The rows of one journal answer, or None when it needs the careful reading."""
    try:
        answer = _DECODER.decode(body)
        out: Records = {
            "lessons": [],
            "assignments": [],
            "marks": [],
            "attendance": [],
            "period_marks": [],
            "subject_group_students": [],
            "journal_students": [],
        }
        for journal in answer.journals or ():
            if journal.subjectGroupId == sg_id:
                _rows(out, journal, sg_id, term_id, class_id, subject_name)
    except (msgspec.DecodeError, _Unusual):
        return None
    return out


# The days already read as real ISO dates: a journal's ~300,000 date texts name a few
# hundred days, so each day is checked once (bounded, in case of a strange portal).
_ISO_DAYS: set[str] = set()


def read_plan(body: bytes, *, sg_id: int) -> Records | None:
    """The rows of one plan answer (`plans`, `plan_lessons`), or None when it needs the
    careful reading."""
    try:
        plan = _PLAN_DECODER.decode(body)
        if not plan.subjectPlanId:
            return None  # no plan: the careful reading says so (and what else it holds)
        lessons = plan.lessons or []
        plan_lessons = [
            {
                "id": item.id,
                "subject_group_id": sg_id,
                "position": position,
                "name": item.lessonName,
                "hours": item.hours,
                "hours_studied": item.hoursStudied,
                "last_study_day": _day(item.lastStudyDay),
                "home_assignment": item.homeAssignment,
            }
            for position, item in enumerate(lessons, 1)
        ]
        head = {
            "subject_group_id": sg_id,
            "plan_id": plan.subjectPlanId,
            "created_date": _moment(plan.createdDate),
            "lessons_count": len(lessons),
            "hours_total": sum(int(item.hours or 0) for item in lessons),
        }
    except (msgspec.DecodeError, _Unusual):
        return None
    return {"plans": [head], "plan_lessons": plan_lessons}


def _day(value: str | None) -> str | None:
    """`opt_day`: nothing, or the date part of an ISO date text."""
    if not value:
        return None
    day = value[:10]
    if day not in _ISO_DAYS:
        _check_iso(value)
    return day


def _moment(value: str | None) -> str | None:
    """`opt_moment`: nothing, or the naive ISO date-time of an ISO date text."""
    if not value:
        return None
    if len(value) >= 19 and value[:10] in _ISO_DAYS:
        return value[:19]
    _check_iso(value)
    return value[:19] if len(value) >= 19 else moment(value)


def _check_iso(value: str) -> None:
    day = value[:10]
    if len(day) < 10:
        raise _Unusual
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise _Unusual from None
    if len(_ISO_DAYS) < 100_000:
        _ISO_DAYS.add(day)


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _rows(
    out: Records,
    journal: _Journal,
    sg_id: int,
    term_id: int,
    class_id: int,
    subject_name: str | None,
) -> None:
    for s in journal.students or ():
        out["subject_group_students"].append({"subject_group_id": sg_id, "student_id": s.id})
        out["journal_students"].append(
            {
                "id": s.id,
                "class_id": class_id,
                "full_name": s.fullName,
                "free": _flag(s.free),
                "individual_educ": _flag(s.individualEduc),
                "added_date": None,
                "health_filled": None,
            }
        )
    lesson_of: dict[int, int] = {}
    for cm in journal.classMeeting or ():
        _lesson(out, cm, sg_id, term_id, class_id, subject_name, lesson_of)
    _marks(out["marks"], journal.marks or (), lesson_of, sg_id)
    lessons = {row["id"] for row in out["lessons"]}
    for a in journal.attendance or ():
        if a.classmeetingId in lessons:
            out["attendance"].append(
                {
                    "lesson_id": a.classmeetingId,
                    "student_id": a.studentId,
                    "subject_group_id": sg_id,
                    "reason": a.reason,
                    "entered_at": _moment(a.date),
                }
            )
    for total in journal.totals or ():
        t_id = total.termId or term_id
        for pm in total.marks or ():
            out["period_marks"].append(
                {
                    "subject_group_id": sg_id,
                    "term_id": t_id,
                    "student_id": pm.studentId,
                    "mark": None if pm.mark is None else str(pm.mark),
                    "entered_at": _moment(pm.date),
                }
            )


def _lesson(
    out: Records,
    cm: _Meeting,
    sg_id: int,
    term_id: int,
    class_id: int,
    subject_name: str | None,
    lesson_of: dict[int, int],
) -> None:
    topic = homework = None
    for a in cm.assignments or ():
        lesson_of[a.id] = cm.id
        if a.typeId == TOPIC_TYPE_ID and topic is None:
            topic = clean_topic(a.assignmentName)
        if a.typeId == HOMEWORK_TYPE_ID and homework is None:
            homework = clean_topic(a.assignmentName)
        created = _moment(a.createdDate)
        out["assignments"].append(
            {
                "id": a.id,
                "lesson_id": cm.id,
                "subject_group_id": sg_id,
                "type_id": a.typeId,
                "name": a.assignmentName,
                "weight": a.weight,
                "due_date": _day(a.dueDate),
                "created_at": created,
                "entered_at": created,
            }
        )
    if not cm.date:
        raise _Unusual
    out["lessons"].append(
        {
            "id": cm.id,
            "subject_group_id": sg_id,
            "class_id": class_id,
            "term_id": term_id,
            "date": _day(cm.date),
            "number": cm.number,
            "is_tkr": _flag(cm.isTkr),
            "subject_name": subject_name,
            "plan_lesson_id": cm.lessonId or None,
            "plan_lesson_name": cm.lessonName,
            "topic": topic,
            "homework": homework,
        }
    )


def _marks(rows: list, marks: Any, lesson_of: dict[int, int], sg_id: int) -> None:
    for m in marks:
        lesson_id = lesson_of.get(m.assignmentId)
        if lesson_id is None:
            continue  # a mark on an assignment the journal does not list: nothing to key it to
        shown, numeric = mark_text_and_value(m.mark)
        rows.append(
            {
                "assignment_id": m.assignmentId,
                "student_id": m.studentId,
                "lesson_id": lesson_id,
                "subject_group_id": sg_id,
                "mark": shown,
                "mark_value": numeric,
                "duty_mark": int(bool(m.dutyMark)),
                "weight": m.weight,
                "entered_at": _moment(m.date),
            }
        )
