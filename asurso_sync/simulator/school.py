"""The school and its year, as any signed-in user sees them: context, school card, settings,
the current year, terms and vacations."""

from __future__ import annotations

from asurso_sync.simulator.state import Routes, Session, State
from asurso_sync.simulator.wsgi import Request, Response, iso, json_response

VERSION = "5.44.7850.27567"
PRODUCT = "Сетевой Город. Образование"
ADDRESS = "443001, г. Самара, ул. Молодогвардейская, 33"
ROLE_CODES = {1: "Administrator", 2: "Parent", 3: "Teacher", 4: "Student", 5: "Deputy"}


def year_asked(st: State, req: Request, session: Session | None) -> int | Response:
    """The school year a call addresses: its `yearId`, or without one the year selected in the
    user's settings (`selected_year`). Ids other than the simulated year's and the next: 404."""
    cal = st.school.calendar
    year_id = req.int_arg("yearId")
    if year_id is None:
        return selected_year(st, session)
    if year_id not in (cal.year_id, cal.year_id + 1):
        return json_response({"message": "Учебный год не найден"}, 404)
    return year_id


def selected_year(st: State, session: Session | None) -> int:
    """The year of the user's settings (`mysettings.schoolyearId`): the simulated year, or for
    a staff account under the `year_switch` quirk the next one (as after the real year switch)."""
    cal = st.school.calendar
    switched = st.quirk("year_switch") and session is not None and session.is_staff
    return cal.year_id + 1 if switched else cal.year_id


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


def mysettings(st: State, req: Request, session: Session | None) -> Response:
    """`GET /webapi/mysettings`: the user's own settings; `roles` are the vendor's role codes of
    every role of the account (**[fixed here]**: only "Parent" is seen in public captures)."""
    assert session is not None
    user = session.user
    last, first, middle = (user.name.split() + ["", "", ""])[:3]
    return json_response(
        {
            "userId": user.id,
            "firstName": first,
            "lastName": last,
            "middleName": middle,
            "loginName": user.login,
            "birthDate": None,
            "roles": [ROLE_CODES.get(i, "Unknown") for i, _ in user.roles],
            "schoolyearId": selected_year(st, session),
            "windowsAccount": None,
            "mobilePhone": None,
            "preferedCom": None,
            "email": None,
            "existsPhoto": False,
            "userSettings": {
                "showMobilePhone": False,
                "defaultDesktop": 0,
                "language": "ru",
                "favoriteReports": [],
                "passwordExpired": 0,
                "recoveryAnswer": None,
                "recoveryQuestion": None,
                "theme": 0,
                "userId": user.id,
                "showNetSchoolApp": False,
            },
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
    if isinstance(year := year_asked(st, req, session), Response):
        return year
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
    if isinstance(year := year_asked(st, req, session), Response):
        return year
    if year != cal.year_id:
        return json_response([])
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
    if isinstance(year := year_asked(st, req, session), Response):
        return year
    if year != st.school.calendar.year_id:
        return json_response([])
    return json_response(
        [
            {"id": v.id, "name": v.name, "startTime": iso(v.start), "endTime": iso(v.end)}
            for v in st.school.calendar.vacations
        ]
    )


ROUTES: Routes = {
    ("GET", "/webapi/context"): context,
    ("GET", "/webapi/mysettings"): mysettings,
    ("GET", "/webapi/school/settings"): settings,
    ("GET", "/webapi/years/current"): year,
    ("GET", "/webapi/terms"): terms,
    ("GET", "/webapi/calendar/vacations"): vacations,
}
