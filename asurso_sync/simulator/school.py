"""The school and its year, as any signed-in user sees them: context, school card, settings,
the current year, terms and vacations."""

from __future__ import annotations

from asurso_sync.simulator.state import Routes, Session, State
from asurso_sync.simulator.wsgi import Request, Response, iso, json_response

VERSION = "5.44.7850.27567"
PRODUCT = "Сетевой Город. Образование"
ADDRESS = "443001, г. Самара, ул. Молодогвардейская, 33"


def context(st: State, req: Request, session: Session | None) -> Response:
    assert session is not None
    cal = st.school.calendar
    user = session.user
    rights = ["Journal.View", "Reports.View"] if session.is_staff else ["Diary.View"]
    return json_response(
        {
            "user": {"id": user.id, "name": user.name},
            "userId": user.id,
            "schoolId": st.school.school_id,
            "roles": [session.role_name],
            "rights": rights,
            "version": VERSION,
            "schoolyear": {
                "id": cal.year_id,
                "name": cal.name,
                "startDate": iso(cal.start),
                "endDate": iso(cal.end),
            },
            "organization": {"id": st.school.school_id, "name": st.school.short_name},
        }
    )


def school_card(st: State, req: Request, session: Session | None, school_id: str) -> Response:
    """`GET /webapi/schools/{id}/card` (routed by the app: the id is part of the path)."""
    if school_id != str(st.school.school_id):
        return json_response({"message": "Not found"}, 404)
    admins = sorted(st.school.staff.values(), key=lambda p: p.id)
    return json_response(
        {
            "commonInfo": {
                "schoolName": st.school.short_name,
                "fullSchoolName": st.school.name,
                "about": "Общеобразовательная школа",
            },
            "managementInfo": {
                "director": admins[0].name,
                "principalUVR": admins[1].name,
                "principalAHC": None,
                "principalIT": admins[2].name,
            },
            "contactInfo": {
                "postAddress": ADDRESS,
                "juridicalAddress": ADDRESS,
                "phones": "+7 (846) 000-00-00",
                "email": "school3@samara.edu.ru",
                "web": "https://school3.example",
            },
        }
    )


def settings(st: State, req: Request, session: Session | None) -> Response:
    return json_response(
        {"minMark": 2, "maxMark": 5, "useWeight": True, "weightFrom": 10, "weightTo": 20}
    )


def year(st: State, req: Request, session: Session | None) -> Response:
    cal = st.school.calendar
    return json_response(
        {"id": cal.year_id, "name": cal.name, "startDate": iso(cal.start), "endDate": iso(cal.end)}
    )


def terms(st: State, req: Request, session: Session | None) -> Response:
    cal = st.school.calendar
    return json_response(
        [
            {
                "id": t.id,
                "termName": t.name,
                "termTypeId": 1,
                "startDate": iso(t.start),
                "endDate": iso(t.end),
                "schoolYearId": cal.year_id,
            }
            for t in cal.terms
        ]
    )


def vacations(st: State, req: Request, session: Session | None) -> Response:
    return json_response(
        [
            {"id": v.id, "name": v.name, "startTime": iso(v.start), "endTime": iso(v.end)}
            for v in st.school.calendar.vacations
        ]
    )


ROUTES: Routes = {
    ("GET", "/webapi/context"): context,
    ("GET", "/webapi/school/settings"): settings,
    ("GET", "/webapi/years/current"): year,
    ("GET", "/webapi/terms"): terms,
    ("GET", "/webapi/calendar/vacations"): vacations,
}
