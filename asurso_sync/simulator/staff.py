"""The staff API (CONTRACT §3): classes, subjects, subject groups, class lists, the
dictionaries, КТП and the journal. Teachers see only their own groups."""

from __future__ import annotations

from typing import Any

from asurso_sync.simulator import names as N
from asurso_sync.simulator.model import Group
from asurso_sync.simulator.payloads import build_journal
from asurso_sync.simulator.school import year_asked
from asurso_sync.simulator.state import Routes, Session, State
from asurso_sync.simulator.wsgi import Request, Response, forbidden, iso, json_response


def staff_only(session: Session | None) -> Response | None:
    return None if session is not None and session.is_staff else forbidden()


def staff_year(st: State, req: Request, session: Session | None) -> Response | bool:
    """A refusal (not staff, unknown year), or whether the call addresses the simulated year
    (False: the next year, which has no classes, groups or terms yet)."""
    if (denied := staff_only(session)) is not None:
        return denied
    year = year_asked(st, req, session)
    if isinstance(year, Response):
        return year
    return year == st.school.calendar.year_id


def may_see(st: State, session: Session, sg_id: int) -> bool:
    if session.user.visibility == "all":
        return True
    return session.user.staff_id in st.school.groups[sg_id].teacher_ids


def classes(st: State, req: Request, session: Session | None) -> Response:
    if isinstance(this_year := staff_year(st, req, session), Response):
        return this_year
    if not this_year:
        return json_response([])
    expand = "chiefs" in (req.arg("expand") or "")
    staff = st.school.staff
    out = []
    for k in sorted(st.school.classes.values(), key=lambda c: (c.grade, c.letter)):
        chiefs = [{"id": k.chief_id, "name": staff[k.chief_id].name}] if expand else None
        out.append(
            {
                "id": k.id,
                "name": k.name,
                "grade": {"id": k.grade, "name": str(k.grade)},
                "letter": k.letter,
                "chiefs": chiefs,
            }
        )
    return json_response(out)


def subjects(st: State, req: Request, session: Session | None) -> Response:
    if isinstance(this_year := staff_year(st, req, session), Response):
        return this_year
    if not this_year:
        return json_response([])
    used = {g.subject_id for g in st.school.groups.values()}
    return json_response(
        [
            {"id": s.id, "name": s.name, "shortName": s.short}
            for s in sorted(st.school.subjects.values(), key=lambda x: x.id)
            if s.id in used
        ]
    )


def group_item(st: State, g: Group, expand: list[str]) -> dict[str, Any]:
    """One subject group as `subjectgroups` serves it. Contract: `teachers` and `terms` (ids)
    when expanded, else null. `no_teachers_expand` quirk: no `teachers` key at all, and `terms`
    as `{id, name}` objects (the vendor's expand values are terms, useInfo, modules, shortName)."""
    item: dict[str, Any] = {
        "id": g.id,
        "name": g.name,
        "subjectId": g.subject_id,
        "classId": g.class_id,
    }
    term_ids = st.school.group_terms(g.id)
    if st.quirk("no_teachers_expand"):
        names = {t.id: t.name for t in st.school.calendar.terms}
        terms = [{"id": t, "name": names[t]} for t in term_ids]
        item["terms"] = terms if "terms" in expand else None
    else:
        staff = st.school.staff
        item["teachers"] = (
            [{"id": t, "name": staff[t].name} for t in g.teacher_ids]
            if "teachers" in expand
            else None
        )
        item["terms"] = term_ids if "terms" in expand else None
    item["hours"] = g.hours
    return item


def subjectgroups(st: State, req: Request, session: Session | None) -> Response:
    if isinstance(this_year := staff_year(st, req, session), Response):
        return this_year
    assert session is not None
    if not this_year:
        return json_response([])
    class_id = req.int_arg("classId")
    expand = req.values("expand")
    out = []
    for g in sorted(st.school.groups.values(), key=lambda x: x.id):
        if (class_id is not None and g.class_id != class_id) or not may_see(st, session, g.id):
            continue
        out.append(group_item(st, g, expand))
    return json_response(out)


def teacher_subjectgroups(st: State, req: Request, session: Session | None) -> Response:
    """`GET /webapi/users/teacher/subjectgroups`: the groups the signed-in teacher teaches
    (an administrator who teaches nothing gets `[]`), items as in `subjectgroups`."""
    if isinstance(this_year := staff_year(st, req, session), Response):
        return this_year
    assert session is not None
    if not this_year:
        return json_response([])
    class_id = req.int_arg("classId")
    expand = req.values("expand")
    me = session.user.staff_id
    return json_response(
        [
            group_item(st, g, expand)
            for g in sorted(st.school.groups.values(), key=lambda x: x.id)
            if me in g.teacher_ids and (class_id is None or g.class_id == class_id)
        ]
    )


def group_terms(st: State, req: Request, session: Session | None) -> Response:
    """`GET /webapi/subjectgroups/terms?classId=&sgId=`: the terms a subject group is taught in,
    each with its teachers — `[{termId, termName, teachers: [{id, name}]}]` (**[fixed here]**:
    the vendor front-end calls this path; its answer is not in any public capture)."""
    if isinstance(this_year := staff_year(st, req, session), Response):
        return this_year
    assert session is not None
    sg_id = req.int_arg("sgId")
    if not this_year or sg_id is None or sg_id not in st.school.groups:
        return json_response({"message": "Subject group not found"}, 404)
    g = st.school.groups[sg_id]
    class_id = req.int_arg("classId")
    if class_id is not None and class_id != g.class_id:
        return json_response({"message": "Subject group not found"}, 404)
    if not may_see(st, session, sg_id):
        return forbidden()
    names = {t.id: t.name for t in st.school.calendar.terms}
    teachers = [{"id": t, "name": st.school.staff[t].name} for t in g.teacher_ids]
    return json_response(
        [
            {"termId": t, "termName": names[t], "teachers": teachers}
            for t in st.school.group_terms(sg_id)
        ]
    )


def student_list(st: State, req: Request, session: Session | None) -> Response:
    if isinstance(this_year := staff_year(st, req, session), Response):
        return this_year
    if not this_year:
        return json_response([])
    class_id = req.int_arg("classId")
    view = st.view
    out = []
    for s in st.school.students_by_class.get(class_id or -1, []):
        if s.added < view.cut:
            out.append(
                {
                    "id": s.id,
                    "fullName": s.name,
                    "free": False,
                    "individualEduc": s.individual,
                    "addedDate": s.added,
                    "healthGroupFilled": s.health_filled,
                }
            )
    return json_response(out)


def assignment_types(st: State, req: Request, session: Session | None) -> Response:
    order = {10: 1, 3: 2}
    return json_response(
        [
            {"id": i, "name": n, "abbr": a, "order": order.get(i, i + 10)}
            for i, (n, a) in N.ASSIGNMENT_TYPES.items()
        ]
    )


def attendance_reasons(st: State, req: Request, session: Session | None) -> Response:
    return json_response([{"mark": m, "localMark": m, "name": n} for m, n in N.ATTENDANCE_REASONS])


def subject_plan(st: State, req: Request, session: Session | None) -> Response:
    if isinstance(this_year := staff_year(st, req, session), Response):
        return this_year
    assert session is not None
    sg_id = req.int_arg("sgId")
    if not this_year or sg_id is None or sg_id not in st.school.groups:
        return json_response({"message": "Subject group not found"}, 404)
    if not may_see(st, session, sg_id):
        return forbidden()
    view = st.view
    plan = view.plan(sg_id)
    if plan is None and st.quirk("plan_zero"):
        return json_response({"subjectPlanId": 0, "variantsExists": False})
    if plan is None:
        return json_response({"subjectPlanId": None, "createdDate": None, "lessons": []})
    held = {
        les.plan_lesson_id
        for les in st.school.lessons_by_group.get(sg_id, ())
        if les.date <= view.as_of
    }
    return json_response(
        {
            "subjectPlanId": plan.id,
            "createdDate": plan.created,
            "lessons": [
                {
                    "id": pl.id,
                    "lessonName": pl.name,
                    "hours": pl.hours,
                    "hoursStudied": pl.hours if pl.id in held else 0,
                    "lastStudyDay": iso(pl.last_study_day),
                    "homeAssignment": pl.task,
                }
                for pl in plan.lessons
            ],
        }
    )


def journal(st: State, req: Request, session: Session | None) -> Response:
    if isinstance(this_year := staff_year(st, req, session), Response):
        return this_year
    assert session is not None
    sg_id, term_id = req.int_arg("sgId"), req.int_arg("termId")
    if sg_id is None or term_id is None:
        return json_response({"message": "sgId and termId are required"}, 400)
    terms = {t.id for t in st.school.calendar.terms}
    if not this_year or sg_id not in st.school.groups or term_id not in terms:
        return json_response({"message": "Not found"}, 404)
    if not may_see(st, session, sg_id):
        return forbidden()
    data = build_journal(
        st.school,
        st.view,
        sg_id,
        term_id,
        term_ids=not st.quirk("journal_no_termid"),
        sparse=st.quirk("journal_sparse"),
    )
    return json_response(data)


ROUTES: Routes = {
    ("GET", "/webapi/classes"): classes,
    ("GET", "/webapi/subjects"): subjects,
    ("GET", "/webapi/subjectgroups"): subjectgroups,
    ("GET", "/webapi/subjectgroups/terms"): group_terms,
    ("GET", "/webapi/users/teacher/subjectgroups"): teacher_subjectgroups,
    ("GET", "/webapi/grade/studentList"): student_list,
    ("GET", "/webapi/grade/assignment/types"): assignment_types,
    ("GET", "/webapi/grade/attendance/reasons"): attendance_reasons,
    ("GET", "/webapi/subjectplans/getForSubjectGroup"): subject_plan,
    ("GET", "/webapi/grade/journal"): journal,
}
