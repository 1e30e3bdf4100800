"""The JSON bodies built from the school at its clock: the journal and a diary lesson's tasks."""

from __future__ import annotations

from typing import Any

from asurso_sync.simulator.model import School
from asurso_sync.simulator.served import View
from asurso_sync.simulator.wsgi import iso


def nick(full_name: str) -> str:
    """The diary's short name of a pupil: surname and first name."""
    parts = full_name.split()
    return " ".join(parts[:2])


def diary_assignments(school: School, view: View, lesson_id: int, sid: int) -> list[dict[str, Any]]:
    out = []
    for a in school.assignments_by_lesson.get(lesson_id, ()):
        shown = view.assignment(a)
        if shown is None:
            continue
        mark = None
        for m in school.marks_by_assignment.get(a.id, ()):
            if m.student_id == sid:
                state = view.mark(m)
                if state is not None:
                    mark = {
                        "assignmentId": a.id,
                        "studentId": sid,
                        "mark": state[0],
                        "resultScore": None,
                        "dutyMark": m.duty,
                    }
        if a.type_id != 3 and mark is None:
            continue
        item: dict[str, Any] = {
            "id": a.id,
            "typeId": a.type_id,
            "assignmentName": shown[0],
            "weight": a.weight,
            "dueDate": iso(a.due),
            "classMeetingId": lesson_id,
        }
        if mark is not None:
            item["mark"] = mark
        out.append(item)
    return out


def build_journal(
    school: School,
    view: View,
    sg_id: int,
    term_id: int,
    term_ids: bool = True,
    sparse: bool = False,
) -> dict[str, Any]:
    """`grade/journal` for one subject group and term, from the per-(sg, term) index.

    `term_ids=False`: `totals` items carry no `termId` (the vendor's journal page reads only
    `totals[0].marks`); `sparse`: `marks`/`attendance` absent when empty, `totals: null`
    when there are no period marks."""
    students = school.students
    group = school.groups[sg_id]
    plan = view.plan(sg_id)
    plan_names = {pl.id: pl.name for pl in plan.lessons} if plan else {}
    meetings, marks, attendance = [], [], []
    last_id = None
    for les in school.lessons_by_group_term.get((sg_id, term_id), ()):
        if les.date > view.as_of:
            break
        last_id = les.id
        linked = les.plan_lesson_id if les.plan_lesson_id in plan_names else None
        item: dict[str, Any] = {
            "id": les.id,
            "date": iso(les.date),
            "number": les.number,
            "isTkr": False,
            "lessonId": linked,
            "lessonName": plan_names.get(linked) if linked else None,
        }
        assigns = []
        for a in school.assignments_by_lesson.get(les.id, ()):
            shown = view.assignment(a)
            if shown is None:
                continue
            assigns.append(
                {
                    "id": a.id,
                    "typeId": a.type_id,
                    "assignmentName": shown[0],
                    "weight": a.weight,
                    "dueDate": iso(a.due),
                    "createdDate": shown[1],
                }
            )
            for m in school.marks_by_assignment.get(a.id, ()):
                state = view.mark(m)
                if state is not None:
                    marks.append(
                        {
                            "studentId": m.student_id,
                            "assignmentId": a.id,
                            "mark": state[0],
                            "dutyMark": m.duty,
                            "weight": a.weight,
                            "date": state[1],
                        }
                    )
        if assigns:
            item["assignments"] = assigns
        meetings.append(item)
        for ab in school.absences_by_lesson.get(les.id, ()):
            state = view.absence(ab)
            if state is not None:
                attendance.append(
                    {
                        "classmeetingId": les.id,
                        "studentId": ab.student_id,
                        "reason": state[0],
                        "date": state[1],
                    }
                )
    totals = []
    for pm in school.period_by_group_term.get((sg_id, term_id), ()):
        state = view.period_mark(pm)
        if state is not None:
            totals.append({"studentId": pm.student_id, "mark": state[0], "date": state[1]})
    last_access = None
    for when, staff_id in reversed(school.access.get(group.class_id, [])):
        if when < view.cut:
            last_access = {"date": when, "nickName": school.staff[staff_id].nick}
            break
    total: dict[str, Any] = {"termId": term_id, "marks": totals} if term_ids else {"marks": totals}
    journal: dict[str, Any] = {
        "subjectGroupId": sg_id,
        "students": [
            {
                "id": sid,
                "fullName": students[sid].name,
                "free": False,
                "individualEduc": students[sid].individual,
            }
            for sid in view.group_students(sg_id)
        ],
        "classMeeting": meetings,
        "marks": marks,
        "attendance": attendance,
        "totals": [total],
        "lastAccess": last_access,
    }
    if sparse:
        for key in ("marks", "attendance"):
            if not journal[key]:
                del journal[key]
        if not totals:
            journal["totals"] = None
    return {
        "journals": [journal],
        "editLimit": {"readOnly": True, "limitPastEdit": True, "limitPastDays": 7},
        "markSettings": {"minMark": 2, "maxMark": 5, "useWeight": True},
        "lastEditCmId": last_id,
    }
