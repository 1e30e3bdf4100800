"""What the sync asks the portal for, as records: one `fetch_*` function per answer.

Every endpoint path and parameter the sync uses lives here (and the shapes in `adapter`), so
the rest of the program knows only records: plain dicts shaped like the mirror's rows (the
github-to-sqlite way). Staff data follows the school year selected in the account's settings
unless `yearId` is passed, so every staff call that takes it gets it explicitly: after the
portal switches years, a sync of last year's mirror keeps reading last year.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from asurso_sync.portal import adapter
from asurso_sync.portal.client import PortalClient
from asurso_sync.portal.journal_bytes import read_journal, read_plan

Row = dict[str, Any]
Records = dict[str, list[Row]]

ACCESS_REPORT_NAME = "Доступ к журналу"


async def fetch_context(client: PortalClient) -> Row:
    """`{school_id, user_id, roles, version, year_id}` of the logged-in account."""
    return await client.get("context", parse=adapter.parse_context)


async def fetch_current_year(client: PortalClient) -> Row:
    """The school year the portal calls current (for staff: the one in the user's settings)."""
    return await client.get("years/current", parse=adapter.parse_year)


async def fetch_terms(client: PortalClient, year_id: int) -> list[Row]:
    """The terms of `year_id` (a term that names another year is left out)."""
    terms = await client.get("terms", {"yearId": year_id}, parse=adapter.parse_terms)
    out = []
    for term in terms:
        if term["year_id"] in (None, year_id):
            out.append({**term, "year_id": year_id})
    return out


async def fetch_vacations(client: PortalClient, year_id: int) -> list[Row]:
    return await client.get(
        "calendar/vacations",
        {"yearId": year_id},
        parse=lambda raw: adapter.parse_vacations(raw, year_id),
    )


async def fetch_classes(client: PortalClient, year_id: int) -> Records:
    """`classes`, `class_teachers` and the class teachers in `teachers`."""
    return await client.get(
        "classes",
        {"expand": "chiefs", "yearId": year_id},
        parse=lambda raw: adapter.parse_classes(raw, year_id),
    )


async def fetch_subjects(client: PortalClient, year_id: int | None = None) -> list[Row]:
    """The school's subjects (of `year_id`: staff data otherwise follows the selected year)."""
    params = {"yearId": year_id} if year_id is not None else None
    return await client.get("subjects", params, parse=adapter.parse_subjects)


async def fetch_assignment_types(client: PortalClient, *, all_types: bool = True) -> list[Row]:
    return await client.get(
        "grade/assignment/types",
        {"all": "true" if all_types else "false"},
        parse=adapter.parse_assignment_types,
    )


async def fetch_attendance_reasons(client: PortalClient) -> list[Row]:
    return await client.get("grade/attendance/reasons", parse=adapter.parse_attendance_reasons)


async def fetch_school_settings(client: PortalClient, year_id: int) -> Row:
    return await client.get(
        "school/settings",
        {"yearId": year_id},
        parse=lambda raw: adapter.parse_settings(raw, year_id),
    )


async def fetch_school_card(client: PortalClient, school_id: int) -> Row:
    """The school's names and its management's names (no addresses or phones)."""
    return await client.get(
        f"schools/{school_id}/card", parse=lambda raw: adapter.parse_card(raw, school_id)
    )


async def fetch_subject_groups(client: PortalClient, class_id: int, year_id: int) -> Records:
    """`subject_groups`, `subject_group_teachers`, `subject_group_terms`, `teachers` of a class.

    The real portal has no `teachers` expand (CONTRACT §7): the teachers (and, when the list
    named none, the terms) of such a group come from `subjectgroups/terms?classId=&sgId=`."""
    records = await client.get(
        "subjectgroups",
        {"classId": class_id, "expand": "teachers,terms", "yearId": year_id},
        parse=adapter.parse_subject_groups,
    )
    unknown = records.pop("teachers_unknown", [])
    with_terms = {link["subject_group_id"] for link in records["subject_group_terms"]}
    for group in unknown:
        sg_id: int = group["subject_group_id"]
        extra = await client.get(
            "subjectgroups/terms",
            {"classId": class_id, "sgId": sg_id, "yearId": year_id},
            parse=functools.partial(adapter.parse_subject_group_terms, sg_id=sg_id),
        )
        records["teachers"] += extra["teachers"]
        records["subject_group_teachers"] += extra["subject_group_teachers"]
        if sg_id not in with_terms:
            records["subject_group_terms"] += extra["subject_group_terms"]
    return records


async def fetch_students(client: PortalClient, class_id: int, year_id: int) -> list[Row]:
    return await client.get(
        "grade/studentList",
        {"classId": class_id, "yearId": year_id},
        parse=lambda raw: adapter.parse_students(raw, class_id),
    )


async def fetch_journal(
    client: PortalClient,
    *,
    year_id: int,
    class_id: int,
    sg_id: int,
    term_id: int,
    subject_name: str | None,
    unchanged: Callable[[bytes], Records | None] | None = None,
) -> Records:
    """One class journal page (one subject group, one term): lessons, assignments, marks,
    attendance, period marks, the group's pupils (`subject_group_students`, `journal_students`).
    `unchanged(body)` sees the answer's bytes first: what it returns (unless None) is the
    result (an answer the mirror holds already is not read). The usual answer is read from
    its bytes (`journal_bytes`); any other one is decoded and read the careful way."""
    params = {"yearId": year_id, "classId": class_id, "grade": -1, "sgId": sg_id, "termId": term_id}
    ids = {"sg_id": sg_id, "term_id": term_id, "class_id": class_id}

    def first_look(body: bytes) -> Records | None:
        known = unchanged(body) if unchanged is not None else None
        if known is not None:
            return known
        return read_journal(body, **ids, subject_name=subject_name)

    return await client.get(
        "grade/journal",
        params,
        parse=lambda raw: adapter.parse_journal(raw, **ids, subject_name=subject_name),
        first_look=first_look,
    )


async def fetch_plan(client: PortalClient, sg_id: int, year_id: int) -> Records:
    """The КТП of one subject group: `plans` and `plan_lessons` (both empty: no plan)."""
    return await client.get(
        "subjectplans/getForSubjectGroup",
        {"sgId": sg_id, "yearId": year_id},
        parse=lambda raw: adapter.parse_plan(raw, sg_id),
        first_look=lambda body: read_plan(body, sg_id=sg_id),
    )


async def open_access_report(client: PortalClient) -> None:
    """Open the journal access report (CONTRACT §4) once per session, as the portal's page does."""
    await client.post_html(
        "asp/Reports/ReportJournalAccess.asp",
        {**_report_form(client), "RPNAME": ACCESS_REPORT_NAME},
    )


async def fetch_access_report(
    client: PortalClient, class_id: int, start: dt.date, end: dt.date
) -> list[Row]:
    """The journal access report of one class for `start`..`end` (call `open_access_report`
    first)."""
    return parse_access_page(await fetch_access_page(client, class_id, start, end), class_id)


async def fetch_access_page(
    client: PortalClient, class_id: int, start: dt.date, end: dt.date
) -> bytes:
    """The access report's page as the portal sent it (the sync parses it only when it is not
    the very page it saved last time: the parse costs more than the request)."""
    form = {
        **_report_form(client),
        "LoginType": "0",
        "PCLID": str(class_id),
        "ADT": _report_day(start),
        "DDT": _report_day(end),
    }
    return await client.post_html("asp/Reports/JournalAccess.asp", form)


def parse_access_page(page: bytes, class_id: int) -> list[Row]:
    """The rows of one class's access report page (`fetch_access_page`)."""
    return adapter.parse_access_report(page, class_id)


async def fetch_diary_init(client: PortalClient) -> list[Row]:
    """The pupils a parent or pupil account sees: `{id, name, class_id, class_name}`."""
    return await client.get("student/diary/init", parse=adapter.parse_diary_init)


async def fetch_diary_week(
    client: PortalClient, *, student_id: int, class_id: int | None, year_id: int, monday: dt.date
) -> Records:
    """One diary week of one pupil: `lessons`, `assignments` and the pupil's `marks`."""
    params = {
        "studentId": student_id,
        "weekStart": monday.isoformat(),
        "weekEnd": (monday + dt.timedelta(days=6)).isoformat(),
        "yearId": year_id,
    }
    return await client.get(
        "student/diary",
        params,
        parse=lambda raw: adapter.parse_diary(raw, student_id=student_id, class_id=class_id),
    )


def _report_form(client: PortalClient) -> dict[str, str]:
    return {"AT": client.at or "", "VER": client.ver or "", "RPTID": "JournalAccess"}


def _report_day(day: dt.date) -> str:
    return f"{day.day}.{day.month}.{day.year}"
