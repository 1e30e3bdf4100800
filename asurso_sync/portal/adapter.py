"""Raw portal JSON → plain record dicts (rows shaped like the mirror's tables).

Every field the contract marks **[fixed here]** is read here and nowhere else, so a captured real
response can replace a guess in one place. Required keys missing from an answer raise
`LayoutError(endpoint, key)`; lists the portal may omit are treated as empty.
"""

from __future__ import annotations

from typing import Any

from asurso_sync.errors import LayoutError

PLACEHOLDER_TOPIC = "---Не указана---"
TOPIC_TYPE_ID = 10
HOMEWORK_TYPE_ID = 3
PARENT_ROLE_NAMES = {"родитель", "parent", "ученик", "student", "обучающийся"}

Records = dict[str, list[dict[str, Any]]]


def req(obj: Any, key: str, endpoint: str) -> Any:
    """The value of a key the contract requires; a missing key is a changed layout."""
    if not isinstance(obj, dict):
        raise LayoutError(endpoint, key, f"expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise LayoutError(endpoint, key)
    return obj[key]


def req_list(obj: Any, key: str, endpoint: str) -> list:
    """A required list (null counts as empty)."""
    value = req(obj, key, endpoint)
    return list(value or [])


def as_list(value: Any, endpoint: str) -> list:
    if not isinstance(value, list):
        raise LayoutError(endpoint, "[]", f"expected a list, got {type(value).__name__}")
    return value


def day(value: str | None) -> str | None:
    """`2026-09-01T00:00:00` → `2026-09-01`."""
    return value[:10] if value else None


def moment(value: str | None) -> str | None:
    """A portal date-time as naive school-local ISO `YYYY-MM-DDTHH:MM:SS` (None stays None)."""
    if not value:
        return None
    text = value[:19]
    if len(text) == 10:
        text += "T00:00:00"
    elif len(text) == 16:
        text += ":00"
    return text


def flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def clean_topic(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    return None if not name or name == PLACEHOLDER_TOPIC else name


# --- login -----------------------------------------------------------------------------------


def parse_logindata(raw: Any) -> dict[str, Any]:
    ep = "logindata"
    return {"school_login": bool(req(raw, "schoolLogin", ep)), "version": raw.get("version")}


def parse_getdata(raw: Any) -> dict[str, str]:
    ep = "auth/getdata"
    return {k: str(req(raw, k, ep)) for k in ("lt", "ver", "salt")}


def parse_login(raw: Any) -> dict[str, Any]:
    ep = "login"
    at = str(req(raw, "at", ep))
    info = raw.get("accountInfo") or {}
    roles = []
    for item in info.get("userRoles") or []:
        role = item.get("role") if isinstance(item.get("role"), dict) else item
        roles.append({"id": role.get("id"), "name": role.get("name")})
    return {
        "at": at,
        "timeout_ms": raw.get("timeOut"),
        "entry_point": raw.get("entryPoint") or "",
        "roles": roles,
    }


def parse_schools(raw: Any) -> list[dict[str, Any]]:
    ep = "schools/search"
    return [
        {"id": req(s, "id", ep), "name": s.get("name"), "short_name": s.get("shortName")}
        for s in as_list(raw, ep)
    ]


# --- school structure ------------------------------------------------------------------------


def parse_context(raw: Any) -> dict[str, Any]:
    ep = "context"
    year = raw.get("schoolyear") or {}
    return {
        "school_id": req(raw, "schoolId", ep),
        "user_id": raw.get("userId"),
        "roles": list(raw.get("roles") or []),
        "version": raw.get("version"),
        "year_id": year.get("id"),
    }


def parse_year(raw: Any) -> dict[str, Any]:
    ep = "years/current"
    return {
        "id": req(raw, "id", ep),
        "name": req(raw, "name", ep),
        "start_date": day(req(raw, "startDate", ep)),
        "end_date": day(req(raw, "endDate", ep)),
    }


def parse_terms(raw: Any) -> list[dict[str, Any]]:
    ep = "terms"
    return [
        {
            "id": req(t, "id", ep),
            "year_id": t.get("schoolYearId"),
            "name": req(t, "termName", ep),
            "term_type_id": t.get("termTypeId"),
            "start_date": day(req(t, "startDate", ep)),
            "end_date": day(req(t, "endDate", ep)),
        }
        for t in as_list(raw, ep)
    ]


def parse_vacations(raw: Any, year_id: int) -> list[dict[str, Any]]:
    ep = "calendar/vacations"
    return [
        {
            "id": req(v, "id", ep),
            "year_id": year_id,
            "name": req(v, "name", ep),
            "start_date": day(req(v, "startTime", ep)),
            "end_date": day(req(v, "endTime", ep)),
        }
        for v in as_list(raw, ep)
    ]


def parse_card(raw: Any, school_id: int) -> dict[str, Any]:
    """Only the school's names and its management's names: no addresses or phones (152-ФЗ)."""
    ep = "schools/card"
    common = req(raw, "commonInfo", ep) or {}
    management = req(raw, "managementInfo", ep) or {}
    return {
        "id": school_id,
        "name": common.get("schoolName"),
        "full_name": common.get("fullSchoolName"),
        "director": management.get("director"),
        "principal_uvr": management.get("principalUVR"),
    }


def parse_settings(raw: Any, year_id: int) -> dict[str, Any]:
    ep = "school/settings"
    return {
        "year_id": year_id,
        "min_mark": req(raw, "minMark", ep),
        "max_mark": req(raw, "maxMark", ep),
        "use_weight": flag(raw.get("useWeight")),
    }


def parse_classes(raw: Any, year_id: int) -> Records:
    ep = "classes"
    out: Records = {"classes": [], "class_teachers": [], "teachers": []}
    for c in as_list(raw, ep):
        grade = c.get("grade") or {}
        out["classes"].append(
            {
                "id": req(c, "id", ep),
                "year_id": year_id,
                "name": req(c, "name", ep),
                "grade": grade.get("name"),
                "letter": c.get("letter"),
            }
        )
        for chief in req_list(c, "chiefs", ep):
            out["teachers"].append({"id": req(chief, "id", ep), "name": chief.get("name")})
            out["class_teachers"].append({"class_id": c["id"], "teacher_id": chief["id"]})
    return out


def parse_subjects(raw: Any) -> list[dict[str, Any]]:
    ep = "subjects"
    return [
        {"id": req(s, "id", ep), "name": req(s, "name", ep), "short_name": s.get("shortName")}
        for s in as_list(raw, ep)
    ]


def parse_subject_groups(raw: Any) -> Records:
    ep = "subjectgroups"
    out: Records = {
        "subject_groups": [],
        "subject_group_teachers": [],
        "subject_group_terms": [],
        "teachers": [],
    }
    for g in as_list(raw, ep):
        sg_id = req(g, "id", ep)
        out["subject_groups"].append(
            {
                "id": sg_id,
                "class_id": req(g, "classId", ep),
                "subject_id": req(g, "subjectId", ep),
                "name": g.get("name"),
                "hours": g.get("hours"),  # hours: [fixed here]
            }
        )
        for t in req_list(g, "teachers", ep):  # [fixed here]
            out["teachers"].append({"id": req(t, "id", ep), "name": t.get("name")})
            out["subject_group_teachers"].append({"subject_group_id": sg_id, "teacher_id": t["id"]})
        for term_id in req_list(g, "terms", ep):  # [fixed here]
            out["subject_group_terms"].append({"subject_group_id": sg_id, "term_id": term_id})
    return out


def parse_students(raw: Any, class_id: int) -> list[dict[str, Any]]:
    ep = "grade/studentList"
    return [
        {
            "id": req(s, "id", ep),
            "class_id": class_id,
            "full_name": req(s, "fullName", ep),
            "free": flag(s.get("free")),
            "individual_educ": flag(s.get("individualEduc")),
            "added_date": day(s.get("addedDate")),  # simulator extension (docs/design.md)
            "health_filled": flag(s.get("healthGroupFilled")),
        }
        for s in as_list(raw, ep)
    ]


def parse_assignment_types(raw: Any) -> list[dict[str, Any]]:
    ep = "grade/assignment/types"
    return [
        {
            "id": req(t, "id", ep),
            "name": req(t, "name", ep),
            "abbr": t.get("abbr"),
            "sort_order": t.get("order"),
            "known": 1,
        }
        for t in as_list(raw, ep)
    ]


def parse_attendance_reasons(raw: Any) -> list[dict[str, Any]]:
    ep = "grade/attendance/reasons"
    return [
        {
            "code": req(r, "mark", ep),
            "local_code": r.get("localMark"),
            "name": r.get("name"),
            "known": 1,
        }
        for r in as_list(raw, ep)
    ]


def parse_plan(raw: Any, sg_id: int) -> Records:
    """The КТП of one subject group; `createdDate` is [fixed here]."""
    ep = "subjectplans/getForSubjectGroup"
    lessons = req_list(raw, "lessons", ep)
    plan_id = req(raw, "subjectPlanId", ep)
    out: Records = {"plans": [], "plan_lessons": []}
    if plan_id is None:
        return out
    for position, item in enumerate(lessons, 1):
        out["plan_lessons"].append(
            {
                "id": req(item, "id", ep),
                "subject_group_id": sg_id,
                "position": position,
                "name": item.get("lessonName"),
                "hours": item.get("hours"),
                "hours_studied": item.get("hoursStudied"),
                "last_study_day": day(item.get("lastStudyDay")),
                "home_assignment": item.get("homeAssignment"),
            }
        )
    out["plans"].append(
        {
            "subject_group_id": sg_id,
            "plan_id": plan_id,
            "created_date": moment(raw.get("createdDate")),
            "lessons_count": len(lessons),
            "hours_total": sum(int(x.get("hours") or 0) for x in lessons),
        }
    )
    return out


# --- the journal -----------------------------------------------------------------------------


def mark_fields(value: Any, duty: Any) -> dict[str, Any]:
    """`mark` text, `mark_value` when numeric, `duty_mark` for a «точка»."""
    if value is None:
        text, number = None, None
    elif isinstance(value, bool):
        text, number = str(value), None
    elif isinstance(value, int | float):
        number = int(value) if float(value).is_integer() else None
        text = str(number) if number is not None else str(value)
    else:
        text = str(value)
        number = int(text) if text.strip().lstrip("-").isdigit() else None
    return {"mark": text, "mark_value": number, "duty_mark": int(bool(duty))}


def parse_journal(
    raw: Any, *, sg_id: int, term_id: int, class_id: int, subject_name: str | None
) -> Records:
    """One `grade/journal` answer (one subject group, one term) as mirror rows.

    The dates of marks, absences, period marks and assignments are [fixed here]; when absent the
    row's `entered_at` is None and the mirror stands in with its own first-seen time.
    """
    ep = "grade/journal"
    out: Records = {
        k: []
        for k in (
            "lessons",
            "assignments",
            "marks",
            "attendance",
            "period_marks",
            "subject_group_students",
            "journal_students",
        )
    }
    try:
        journals = [j for j in req_list(raw, "journals", ep) if j["subjectGroupId"] == sg_id]
        for journal in journals:
            _journal_rows(out, journal, sg_id, term_id, class_id, subject_name)
    except KeyError as exc:
        raise LayoutError(ep, str(exc.args[0])) from None
    except (TypeError, AttributeError) as exc:
        raise LayoutError(ep, "?", f"unexpected shape: {exc}") from None
    return out


def _journal_rows(
    out: Records, journal: dict, sg_id: int, term_id: int, class_id: int, subject_name: str | None
) -> None:
    """The rows of one journal; a missing key raises KeyError (turned into LayoutError)."""
    ep = "grade/journal"
    for s in req_list(journal, "students", ep):
        out["subject_group_students"].append({"subject_group_id": sg_id, "student_id": s["id"]})
        out["journal_students"].append(
            {
                "id": s["id"],
                "class_id": class_id,
                "full_name": s.get("fullName"),
                "free": flag(s.get("free")),
                "individual_educ": flag(s.get("individualEduc")),
                "added_date": None,
                "health_filled": None,
            }
        )
    lesson_of: dict[int, int] = {}
    for cm in req_list(journal, "classMeeting", ep):
        lesson_id = cm["id"]
        topic = homework = None
        for a in cm.get("assignments") or []:
            a_id, type_id = a["id"], a["typeId"]
            lesson_of[a_id] = lesson_id
            if type_id == TOPIC_TYPE_ID and topic is None:
                topic = clean_topic(a.get("assignmentName"))
            if type_id == HOMEWORK_TYPE_ID and homework is None:
                homework = clean_topic(a.get("assignmentName"))
            created = moment(a.get("createdDate"))
            out["assignments"].append(
                {
                    "id": a_id,
                    "lesson_id": lesson_id,
                    "subject_group_id": sg_id,
                    "type_id": type_id,
                    "name": a.get("assignmentName"),
                    "weight": a.get("weight"),
                    "due_date": day(a.get("dueDate")),
                    "created_at": created,
                    "entered_at": created,
                }
            )
        out["lessons"].append(
            {
                "id": lesson_id,
                "subject_group_id": sg_id,
                "class_id": class_id,
                "term_id": term_id,
                "date": day(cm["date"]),
                "number": cm.get("number"),
                "is_tkr": flag(cm.get("isTkr")),
                "subject_name": subject_name,
                "plan_lesson_id": cm.get("lessonId"),
                "plan_lesson_name": cm.get("lessonName"),
                "topic": topic,
                "homework": homework,
            }
        )
    for m in req_list(journal, "marks", ep):
        a_id = m["assignmentId"]
        if a_id not in lesson_of:
            continue  # a mark on an assignment the journal does not list: nothing to key it to
        out["marks"].append(
            {
                "assignment_id": a_id,
                "student_id": m["studentId"],
                "lesson_id": lesson_of[a_id],
                "subject_group_id": sg_id,
                **mark_fields(m["mark"], m.get("dutyMark")),
                "weight": m.get("weight"),
                "entered_at": moment(m.get("date")),
            }
        )
    for a in req_list(journal, "attendance", ep):
        out["attendance"].append(
            {
                "lesson_id": a["classmeetingId"],
                "student_id": a["studentId"],
                "subject_group_id": sg_id,
                "reason": a["reason"],
                "entered_at": moment(a.get("date")),
            }
        )
    for total in req_list(journal, "totals", ep):
        t_id = total["termId"]
        for pm in req_list(total, "marks", ep):
            value = pm["mark"]
            out["period_marks"].append(
                {
                    "subject_group_id": sg_id,
                    "term_id": t_id,
                    "student_id": pm["studentId"],
                    "mark": None if value is None else str(value),
                    "entered_at": moment(pm.get("date")),
                }
            )


# --- the diary (parent / pupil accounts) -----------------------------------------------------


def parse_diary_init(raw: Any) -> list[dict[str, Any]]:
    ep = "student/diary/init"
    return [
        {
            "id": req(s, "studentId", ep),
            "name": s.get("nickName"),
            "class_id": s.get("classId"),
            "class_name": s.get("className"),
        }
        for s in req_list(raw, "students", ep)
    ]


def parse_diary(raw: Any, *, student_id: int, class_id: int | None) -> Records:
    """A diary week of one pupil: lessons, assignments and this pupil's marks."""
    ep = "student/diary"
    out: Records = {"lessons": [], "assignments": [], "marks": []}
    for wd in req_list(raw, "weekDays", ep):
        date = day(req(wd, "date", ep))
        for lesson in wd.get("lessons") or []:
            lesson_id = req(lesson, "classmeetingId", ep)
            topic = homework = None
            for a in lesson.get("assignments") or []:
                a_id, type_id = req(a, "id", ep), req(a, "typeId", ep)
                if type_id == TOPIC_TYPE_ID and topic is None:
                    topic = clean_topic(a.get("assignmentName"))
                if type_id == HOMEWORK_TYPE_ID and homework is None:
                    homework = clean_topic(a.get("assignmentName"))
                out["assignments"].append(
                    {
                        "id": a_id,
                        "lesson_id": lesson_id,
                        "subject_group_id": None,
                        "type_id": type_id,
                        "name": a.get("assignmentName"),
                        "weight": a.get("weight"),
                        "due_date": day(a.get("dueDate")),
                        "created_at": None,
                        "entered_at": None,
                    }
                )
                mark = a.get("mark")
                if mark:
                    out["marks"].append(
                        {
                            "assignment_id": a_id,
                            "student_id": student_id,
                            "lesson_id": lesson_id,
                            "subject_group_id": None,
                            **mark_fields(mark.get("mark"), mark.get("dutyMark")),
                            "weight": a.get("weight"),
                            "entered_at": None,
                        }
                    )
            out["lessons"].append(
                {
                    "id": lesson_id,
                    "subject_group_id": None,
                    "class_id": class_id,
                    "term_id": None,
                    "date": date,
                    "number": lesson.get("number"),
                    "is_tkr": None,
                    "subject_name": lesson.get("subjectName"),
                    "plan_lesson_id": None,
                    "plan_lesson_name": None,
                    "topic": topic,
                    "homework": homework,
                }
            )
    return out


# --- the journal access report (HTML, CONTRACT §4) -------------------------------------------


def _access_report_parts(page: bytes):
    """The report's title and its `table.table-print`, parsed from bytes by bs4 (which reads
    the charset from <meta>; windows-1251 is tried first). Only those two elements are built
    into a tree, which keeps a whole year's report fast."""
    from bs4 import BeautifulSoup, SoupStrainer

    soup = BeautifulSoup(page, "html.parser", parse_only=SoupStrainer(["h2", "table"]))
    title = soup.find("h2", class_="main-report-title")
    table = soup.find("table", class_="table-print")
    return title, table


def _access_rows(table) -> list[list[str]]:
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a nested table's row
        cells = [" ".join(td.get_text(" ").split()) for td in tr.find_all("td", recursive=False)]
        if cells:
            rows.append(cells)
    return rows


def parse_access_report(page: bytes, class_id: int) -> list[dict[str, Any]]:
    """Rows of the journal access report. Takes bytes: the charset may be only in <meta>."""
    import hashlib
    from datetime import datetime

    ep = "JournalAccess.asp"
    title, table = _access_report_parts(page)
    if title is None:
        raise LayoutError(ep, "h2.main-report-title")
    if table is None:
        raise LayoutError(ep, "table.table-print")
    rows = []
    for cells in _access_rows(table):
        if len(cells) < 4:
            continue  # a spacer row
        name, role, class_name, when = cells[:4]
        try:
            entered = datetime.strptime(when, "%d.%m.%Y %H:%M").strftime("%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise LayoutError(ep, "Дата и время входа", f"unreadable value {when!r}") from None
        key = "\x1f".join((name, role, str(class_id), entered))
        rows.append(
            {
                "id": hashlib.sha1(key.encode("utf-8")).hexdigest()[:20],
                "user_name": name,
                "role": role,
                "class_id": class_id,
                "class_name": class_name,
                "entered_at": entered,
            }
        )
    return rows
