"""Raw portal JSON → plain record dicts (rows shaped like the mirror's tables).

Every field the contract marks **[fixed here]** is read here and nowhere else, so a captured real
response can replace a guess in one place. The adapter is tolerant where real portals differ
(CONTRACT §7, `tests/fixtures/real/`): lists the portal may omit or send as null are empty,
`totals` without `termId` belong to the requested term, term and teacher references may be ids
or objects, a falsy plan id is "no plan", `userRoles` may be a list, an object or empty. It is
strict where a wrong value would corrupt the mirror: keys that identify rows (ids, dates) must be
present and of the right type, and so must the kept text fields; otherwise `LayoutError` names
the endpoint, the key and the ids around it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from typing import Any

from bs4.dammit import UnicodeDammit
from lxml import etree
from lxml.etree import _Element

from asurso_sync.errors import LayoutError

PLACEHOLDER_TOPIC = "---Не указана---"
TOPIC_TYPE_ID = 10
HOMEWORK_TYPE_ID = 3
PARENT_ROLE_NAMES = {"родитель", "parent", "ученик", "student", "обучающийся"}

Records = dict[str, list[dict[str, Any]]]


class WrongType(LayoutError):
    """A kept field has the wrong type (a name as a number, an id as a string)."""

    def __init__(self, endpoint: str, key: str, detail: str) -> None:
        super().__init__(endpoint, key, detail)
        self.args = (f"the portal's answer to {endpoint} has a wrong {key!r}: {detail}",)


def _where(ctx: str) -> str:
    return f" ({ctx})" if ctx else ""


def req(obj: Any, key: str, endpoint: str, ctx: str = "") -> Any:
    """The value of a key the contract requires; a missing key is a changed layout."""
    if not isinstance(obj, dict):
        raise LayoutError(endpoint, key, f"expected an object, got {type(obj).__name__}{ctx}")
    if key not in obj:
        raise LayoutError(endpoint, key, ctx)
    return obj[key]


def opt_list(obj: Any, key: str, endpoint: str, ctx: str = "") -> list:
    """A list the portal may omit or send as null (both mean empty)."""
    if not isinstance(obj, dict):
        raise LayoutError(endpoint, key, f"expected an object, got {type(obj).__name__}{ctx}")
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise WrongType(endpoint, key, f"expected a list, got {type(value).__name__}{_where(ctx)}")
    return value


def req_list(obj: Any, key: str, endpoint: str, ctx: str = "") -> list:
    """A list whose key must be there (null counts as empty): its absence is a changed layout."""
    req(obj, key, endpoint, ctx)
    return opt_list(obj, key, endpoint, ctx)


def as_list(value: Any, endpoint: str) -> list:
    if not isinstance(value, list):
        raise LayoutError(endpoint, "[]", f"expected a list, got {type(value).__name__}")
    return value


def ident(obj: Any, key: str, endpoint: str, ctx: str = "") -> int:
    """A required integer id (an id as a string or a float is a changed layout)."""
    value = req(obj, key, endpoint, ctx)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType(
            endpoint,
            key,
            f"expected an integer id, got {type(value).__name__} {value!r}{_where(ctx)}",
        )
    return value


def opt_ident(obj: dict, key: str, endpoint: str, ctx: str = "") -> int | None:
    """An optional integer id; 0 and null mean none."""
    value = obj.get(key)
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType(
            endpoint,
            key,
            f"expected an integer id, got {type(value).__name__} {value!r}{_where(ctx)}",
        )
    return value


def text(obj: dict, key: str, endpoint: str, ctx: str = "", *, required: bool = False) -> Any:
    """A kept text field: a string or null (a number where a name belongs is a changed layout)."""
    value = req(obj, key, endpoint, ctx) if required else obj.get(key)
    if value is not None and not isinstance(value, str):
        raise WrongType(
            endpoint, key, f"expected text, got {type(value).__name__} {value!r}{_where(ctx)}"
        )
    return value


def number(obj: dict, key: str, endpoint: str, ctx: str = "") -> Any:
    """An optional number (int or float; null stays None)."""
    value = obj.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise WrongType(
            endpoint, key, f"expected a number, got {type(value).__name__} {value!r}{_where(ctx)}"
        )
    return value


def ref_id(value: Any, endpoint: str, key: str, ctx: str = "") -> int:
    """A reference that is an id or an object with an `id` (terms, teachers)."""
    if isinstance(value, dict):
        return ident(value, "id", endpoint, ctx)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType(
            endpoint, key, f"expected an id or an object, got {type(value).__name__}{_where(ctx)}"
        )
    return value


def _date_text(value: Any, endpoint: str, key: str, ctx: str) -> str:
    if not isinstance(value, str) or len(value) < 10:
        raise WrongType(endpoint, key, f"expected an ISO date, got {value!r}{_where(ctx)}")
    try:
        dt.date.fromisoformat(value[:10])
    except ValueError:
        raise WrongType(
            endpoint, key, f"expected an ISO date, got {value!r}{_where(ctx)}"
        ) from None
    return value


def req_day(obj: Any, key: str, endpoint: str, ctx: str = "") -> str:
    """A required date → `YYYY-MM-DD`."""
    return _date_text(req(obj, key, endpoint, ctx), endpoint, key, ctx)[:10]


def opt_day(obj: dict, key: str, endpoint: str, ctx: str = "") -> str | None:
    value = obj.get(key)
    return None if not value else _date_text(value, endpoint, key, ctx)[:10]


def opt_moment(obj: dict, key: str, endpoint: str, ctx: str = "") -> str | None:
    value = obj.get(key)
    return None if not value else moment(_date_text(value, endpoint, key, ctx))


def day(value: str | None) -> str | None:
    """`2026-09-01T00:00:00` → `2026-09-01`."""
    return value[:10] if value else None


def moment(value: str | None) -> str | None:
    """A portal date-time as naive school-local ISO `YYYY-MM-DDTHH:MM:SS` (None stays None)."""
    if not value:
        return None
    stamp = value[:19]
    if len(stamp) == 10:
        stamp += "T00:00:00"
    elif len(stamp) == 16:
        stamp += ":00"
    return stamp


def flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def clean_topic(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    return None if not name or name == PLACEHOLDER_TOPIC else name


# --- login -----------------------------------------------------------------------------------


def parse_logindata(raw: Any) -> dict[str, Any]:
    """Which logins the portal allows, and its version when it says it."""
    ep = "logindata"
    return {
        "school_login": bool(req(raw, "schoolLogin", ep)),
        "esia_login": bool(raw.get("esiaLogin")),
        "esia_main_auth": bool(raw.get("esiaMainAuth")),
        "product": raw.get("productName"),
        "version": raw.get("version"),
    }


def parse_getdata(raw: Any) -> dict[str, str]:
    ep = "auth/getdata"
    return {k: str(req(raw, k, ep)) for k in ("lt", "ver", "salt")}


def _role(item: Any, endpoint: str) -> dict[str, Any] | None:
    """`{id, name}`, `{role: {id, name}}` or a bare name → `{id, name}`."""
    if isinstance(item, str):
        return {"id": None, "name": item}
    if not isinstance(item, dict):
        return None
    inner = item.get("role")
    role: dict[str, Any] = inner if isinstance(inner, dict) else item
    name = role.get("name")
    if name is not None and not isinstance(name, str):
        raise WrongType(endpoint, "name", f"a role name as {type(name).__name__} {name!r}")
    return {"id": role.get("id"), "name": name}


def roles_of(value: Any, endpoint: str) -> list[dict[str, Any]]:
    """Roles given as a list, a single object, or nothing."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [r for r in (_role(item, endpoint) for item in items) if r is not None]


def parse_login(raw: Any) -> dict[str, Any]:
    ep = "login"
    at = req(raw, "at", ep)
    if not isinstance(at, str | int) or isinstance(at, bool):
        raise WrongType(ep, "at", f"expected a token, got {type(at).__name__}")
    info = raw.get("accountInfo") or {}
    org = info.get("currentOrganization") if isinstance(info, dict) else None
    return {
        "at": str(at),
        "timeout_ms": raw.get("timeOut"),
        "entry_point": raw.get("entryPoint") or "",
        "roles": roles_of(info.get("userRoles") if isinstance(info, dict) else None, ep),
        "organization_id": org.get("id") if isinstance(org, dict) else None,
        "organization": org.get("name") if isinstance(org, dict) else None,
    }


def parse_schools(raw: Any) -> list[dict[str, Any]]:
    ep = "schools/search"
    return [
        {
            "id": ident(s, "id", ep),
            "name": text(s, "name", ep),
            "short_name": text(s, "shortName", ep),
        }
        for s in as_list(raw, ep)
    ]


# --- who am I: context, mysettings -----------------------------------------------------------


def parse_context(raw: Any) -> dict[str, Any]:
    ep = "context"
    year = raw.get("schoolyear") or {} if isinstance(raw, dict) else {}
    return {
        "school_id": ident(raw, "schoolId", ep),
        "user_id": raw.get("userId"),
        "roles": [r["name"] for r in roles_of(raw.get("roles") or [], ep) if r["name"]],
        "rights": [str(r) for r in raw.get("rights") or []],
        "version": raw.get("version"),
        "year_id": year.get("id") if isinstance(year, dict) else None,
    }


def parse_mysettings(raw: Any) -> dict[str, Any]:
    """`mysettings`: only the role names and the selected year (no name, phone, e-mail)."""
    ep = "mysettings"
    if not isinstance(raw, dict):
        raise LayoutError(ep, "{}", f"expected an object, got {type(raw).__name__}")
    return {
        "roles": [r["name"] for r in roles_of(raw.get("roles") or [], ep) if r["name"]],
        "year_id": raw.get("schoolyearId"),
    }


# --- school structure ------------------------------------------------------------------------


def parse_year(raw: Any) -> dict[str, Any]:
    ep = "years/current"
    return {
        "id": ident(raw, "id", ep),
        "name": text(raw, "name", ep, required=True),
        "start_date": req_day(raw, "startDate", ep),
        "end_date": req_day(raw, "endDate", ep),
    }


def parse_terms(raw: Any) -> list[dict[str, Any]]:
    ep = "terms"
    out = []
    for t in as_list(raw, ep):
        tid = ident(t, "id", ep)
        ctx = f"term {tid}"
        out.append(
            {
                "id": tid,
                "year_id": opt_ident(t, "schoolYearId", ep, ctx),
                "name": text(t, "termName", ep, ctx, required=True),
                "term_type_id": t.get("termTypeId"),
                "start_date": req_day(t, "startDate", ep, ctx),
                "end_date": req_day(t, "endDate", ep, ctx),
            }
        )
    return out


def parse_vacations(raw: Any, year_id: int) -> list[dict[str, Any]]:
    ep = "calendar/vacations"
    out = []
    for v in as_list(raw, ep):
        vid = ident(v, "id", ep)
        ctx = f"vacation {vid}"
        out.append(
            {
                "id": vid,
                "year_id": year_id,
                "name": text(v, "name", ep, ctx, required=True),
                "start_date": req_day(v, "startTime", ep, ctx),
                "end_date": req_day(v, "endTime", ep, ctx),
            }
        )
    return out


def parse_card(raw: Any, school_id: int) -> dict[str, Any]:
    """Only the school's names and its management's names: no addresses or phones (152-ФЗ)."""
    ep = "schools/card"
    common = req(raw, "commonInfo", ep) or {}
    management = req(raw, "managementInfo", ep) or {}
    return {
        "id": school_id,
        "name": text(common, "schoolName", ep),
        "full_name": text(common, "fullSchoolName", ep),
        "director": text(management, "director", ep),
        "principal_uvr": text(management, "principalUVR", ep),
    }


def parse_settings(raw: Any, year_id: int) -> dict[str, Any]:
    ep = "school/settings"
    return {
        "year_id": year_id,
        "min_mark": req(raw, "minMark", ep),
        "max_mark": req(raw, "maxMark", ep),
        "use_weight": flag(raw.get("useWeight")),
    }


def _teacher(item: Any, endpoint: str, ctx: str) -> dict[str, Any]:
    """A teacher reference: `{id, name}` or a bare id (then without a name)."""
    if isinstance(item, dict):
        tid = ident(item, "id", endpoint, ctx)
        return {"id": tid, "name": text(item, "name", endpoint, f"{ctx}, teacher {tid}")}
    return {"id": ref_id(item, endpoint, "teachers", ctx), "name": None}


def parse_classes(raw: Any, year_id: int) -> Records:
    ep = "classes"
    out: Records = {"classes": [], "class_teachers": [], "teachers": []}
    for c in as_list(raw, ep):
        cid = ident(c, "id", ep)
        ctx = f"class {cid}"
        grade = c.get("grade") or {}
        out["classes"].append(
            {
                "id": cid,
                "year_id": year_id,
                "name": text(c, "name", ep, ctx, required=True),
                "grade": text(grade, "name", ep, ctx) if isinstance(grade, dict) else None,
                "letter": text(c, "letter", ep, ctx),
            }
        )
        for chief in opt_list(c, "chiefs", ep, ctx):
            teacher = _teacher(chief, ep, ctx)
            out["teachers"].append(teacher)
            out["class_teachers"].append({"class_id": cid, "teacher_id": teacher["id"]})
    return out


def parse_subjects(raw: Any) -> list[dict[str, Any]]:
    ep = "subjects"
    out = []
    for s in as_list(raw, ep):
        sid = ident(s, "id", ep)
        ctx = f"subject {sid}"
        out.append(
            {
                "id": sid,
                "name": text(s, "name", ep, ctx, required=True),
                "short_name": text(s, "shortName", ep, ctx),
            }
        )
    return out


def parse_subject_groups(raw: Any) -> Records:
    """Subject groups of one class. A group whose answer has no `teachers` (the real portal has
    no such expand) is listed in `teachers_unknown`: its teachers come from
    `subjectgroups/terms` (`parse_subject_group_terms`)."""
    ep = "subjectgroups"
    out: Records = {
        "subject_groups": [],
        "subject_group_teachers": [],
        "subject_group_terms": [],
        "teachers": [],
        "teachers_unknown": [],
    }
    for g in as_list(raw, ep):
        sg_id = ident(g, "id", ep)
        ctx = f"subject group {sg_id}"
        class_id = ident(g, "classId", ep, ctx)
        out["subject_groups"].append(
            {
                "id": sg_id,
                "class_id": class_id,
                "subject_id": ident(g, "subjectId", ep, ctx),
                "name": text(g, "name", ep, ctx),
                "hours": number(g, "hours", ep, ctx),  # hours: [fixed here]
            }
        )
        if g.get("teachers") is None:
            out["teachers_unknown"].append({"subject_group_id": sg_id, "class_id": class_id})
        for item in opt_list(g, "teachers", ep, ctx):  # [fixed here]
            teacher = _teacher(item, ep, ctx)
            out["teachers"].append(teacher)
            out["subject_group_teachers"].append(
                {"subject_group_id": sg_id, "teacher_id": teacher["id"]}
            )
        for term in opt_list(g, "terms", ep, ctx):  # ids or objects
            out["subject_group_terms"].append(
                {"subject_group_id": sg_id, "term_id": ref_id(term, ep, "terms", ctx)}
            )
    return out


def parse_subject_group_terms(raw: Any, sg_id: int) -> Records:
    """`subjectgroups/terms?classId=&sgId=` → the group's terms and teachers.

    Shape (our documented assumption, [fixed here]): `[{termId, termName, teachers: [{id,
    name}]}]`; the vendor's front-end calls this endpoint but its answer is not public."""
    ep = "subjectgroups/terms"
    ctx = f"subject group {sg_id}"
    out: Records = {"subject_group_terms": [], "subject_group_teachers": [], "teachers": []}
    seen: set[int] = set()
    for item in as_list(raw, ep):
        term_id = ident(item, "termId", ep, ctx) if "termId" in item else ident(item, "id", ep, ctx)
        out["subject_group_terms"].append({"subject_group_id": sg_id, "term_id": term_id})
        for t in opt_list(item, "teachers", ep, f"{ctx}, term {term_id}"):
            teacher = _teacher(t, ep, ctx)
            if teacher["id"] not in seen:
                seen.add(teacher["id"])
                out["teachers"].append(teacher)
                out["subject_group_teachers"].append(
                    {"subject_group_id": sg_id, "teacher_id": teacher["id"]}
                )
    return out


def parse_students(raw: Any, class_id: int) -> list[dict[str, Any]]:
    ep = "grade/studentList"
    out = []
    for s in as_list(raw, ep):
        sid = ident(s, "id", ep, f"class {class_id}")
        ctx = f"class {class_id}, pupil {sid}"
        out.append(
            {
                "id": sid,
                "class_id": class_id,
                "full_name": text(s, "fullName", ep, ctx, required=True),
                "free": flag(s.get("free")),
                "individual_educ": flag(s.get("individualEduc")),
                "added_date": opt_day(s, "addedDate", ep, ctx),  # simulator extension
                "health_filled": flag(s.get("healthGroupFilled")),
            }
        )
    return out


def parse_assignment_types(raw: Any) -> list[dict[str, Any]]:
    ep = "grade/assignment/types"
    out = []
    for t in as_list(raw, ep):
        tid = ident(t, "id", ep)
        ctx = f"type {tid}"
        out.append(
            {
                "id": tid,
                "name": text(t, "name", ep, ctx, required=True),
                "abbr": text(t, "abbr", ep, ctx),
                "sort_order": t.get("order"),
                "known": 1,
            }
        )
    return out


def parse_attendance_reasons(raw: Any) -> list[dict[str, Any]]:
    ep = "grade/attendance/reasons"
    out = []
    for r in as_list(raw, ep):
        code = text(r, "mark", ep, required=True)
        if not code:
            raise LayoutError(ep, "mark", "an empty absence code")
        out.append(
            {
                "code": code,
                "local_code": text(r, "localMark", ep, f"code {code}"),
                "name": text(r, "name", ep, f"code {code}"),
                "known": 1,
            }
        )
    return out


def parse_plan(raw: Any, sg_id: int) -> Records:
    """The КТП of one subject group; a falsy `subjectPlanId` (null, 0) is "no plan"; `createdDate`
    is [fixed here]."""
    ep = "subjectplans/getForSubjectGroup"
    ctx = f"subject group {sg_id}"
    plan_id = req(raw, "subjectPlanId", ep, ctx)
    out: Records = {"plans": [], "plan_lessons": []}
    if not plan_id:
        return out
    if isinstance(plan_id, bool) or not isinstance(plan_id, int):
        raise WrongType(ep, "subjectPlanId", f"expected an integer id, got {plan_id!r} ({ctx})")
    lessons = req_list(raw, "lessons", ep, ctx)
    for position, item in enumerate(lessons, 1):
        lid = ident(item, "id", ep, ctx)
        lctx = f"{ctx}, plan lesson {lid}"
        out["plan_lessons"].append(
            {
                "id": lid,
                "subject_group_id": sg_id,
                "position": position,
                "name": text(item, "lessonName", ep, lctx),
                "hours": number(item, "hours", ep, lctx),
                "hours_studied": number(item, "hoursStudied", ep, lctx),
                "last_study_day": opt_day(item, "lastStudyDay", ep, lctx),
                "home_assignment": text(item, "homeAssignment", ep, lctx),
            }
        )
    out["plans"].append(
        {
            "subject_group_id": sg_id,
            "plan_id": plan_id,
            "created_date": opt_moment(raw, "createdDate", ep, ctx),
            "lessons_count": len(lessons),
            "hours_total": sum(int(x.get("hours") or 0) for x in lessons),
        }
    )
    return out


# --- the journal -----------------------------------------------------------------------------


def mark_fields(value: Any, duty: Any) -> dict[str, Any]:
    """`mark` text, `mark_value` when numeric, `duty_mark` for a «точка»."""
    shown, numeric = mark_text_and_value(value)
    return {"mark": shown, "mark_value": numeric, "duty_mark": int(bool(duty))}


def mark_text_and_value(value: Any) -> tuple[str | None, int | None]:
    """A mark as the journal shows it, and its number when it is a whole one («5», 5, 5.0 →
    5; «Н», «4-», 4.5 → none). The usual int and text come first: a sync reads ~150,000."""
    if type(value) is int:
        return str(value), value
    if type(value) is str:
        return value, int(value) if value.strip().lstrip("-").isdigit() else None
    if value is None:
        return None, None
    if isinstance(value, bool):
        return str(value), None
    if isinstance(value, int | float):
        numeric = int(value) if float(value).is_integer() else None
        return (str(numeric) if numeric is not None else str(value)), numeric
    shown = str(value)
    return shown, int(shown) if shown.strip().lstrip("-").isdigit() else None


def _mark_value(obj: dict, endpoint: str, ctx: str) -> Any:
    value = req(obj, "mark", endpoint, ctx)
    if value is not None and not isinstance(value, str | int | float):
        raise WrongType(endpoint, "mark", f"got {type(value).__name__}{_where(ctx)}")
    return value


def parse_journal(
    raw: Any, *, sg_id: int, term_id: int, class_id: int, subject_name: str | None
) -> Records:
    """One `grade/journal` answer (one subject group, one term) as mirror rows, read the careful
    way: each value checked by the contract's helpers, a bad one named with where it sits.

    The dates of marks, absences, period marks and assignments are [fixed here]; when absent the
    row's `entered_at` is None and the mirror stands in with its own first-seen time.
    `totals` without `termId` are the requested term's; `totals`, `marks`, `attendance` may be
    missing or null. `read_journal` gives the same rows from the answer's bytes, faster.
    """
    ep = "grade/journal"
    out = _journal_tables()
    where = f"subject group {sg_id}, term {term_id}"
    for journal in req_list(raw, "journals", ep, where):
        if ident(journal, "subjectGroupId", ep, where) == sg_id:
            _journal_rows(out, journal, sg_id, term_id, class_id, subject_name)
    return out


def _journal_tables() -> Records:
    return {
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


def _journal_rows(
    out: Records,
    journal: dict,
    sg_id: int,
    term_id: int,
    class_id: int,
    subject_name: str | None,
) -> None:
    """Add one journal's rows to `out`, each value checked and a bad one named."""
    ep = "grade/journal"
    where = f"subject group {sg_id}, term {term_id}"
    for s in req_list(journal, "students", ep, where):
        sid = ident(s, "id", ep, f"{where}, students")
        ctx = f"{where}, pupil {sid}"
        out["subject_group_students"].append({"subject_group_id": sg_id, "student_id": sid})
        out["journal_students"].append(
            {
                "id": sid,
                "class_id": class_id,
                "full_name": text(s, "fullName", ep, ctx),
                "free": flag(s.get("free")),
                "individual_educ": flag(s.get("individualEduc")),
                "added_date": None,
                "health_filled": None,
            }
        )
    lesson_of: dict[int, int] = {}
    for cm in req_list(journal, "classMeeting", ep, where):
        lesson_id = ident(cm, "id", ep, f"{where}, classMeeting")
        lctx = f"{where}, lesson {lesson_id}"
        topic = homework = None
        for a in opt_list(cm, "assignments", ep, lctx):
            a_id = ident(a, "id", ep, f"{lctx}, assignments")
            actx = f"{lctx}, assignment {a_id}"
            type_id = ident(a, "typeId", ep, actx)
            name = text(a, "assignmentName", ep, actx)
            lesson_of[a_id] = lesson_id
            if type_id == TOPIC_TYPE_ID and topic is None:
                topic = clean_topic(name)
            if type_id == HOMEWORK_TYPE_ID and homework is None:
                homework = clean_topic(name)
            created = opt_moment(a, "createdDate", ep, actx)
            out["assignments"].append(
                {
                    "id": a_id,
                    "lesson_id": lesson_id,
                    "subject_group_id": sg_id,
                    "type_id": type_id,
                    "name": name,
                    "weight": number(a, "weight", ep, actx),
                    "due_date": opt_day(a, "dueDate", ep, actx),
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
                "date": req_day(cm, "date", ep, lctx),
                "number": cm.get("number"),
                "is_tkr": flag(cm.get("isTkr")),
                "subject_name": subject_name,
                "plan_lesson_id": opt_ident(cm, "lessonId", ep, lctx),
                "plan_lesson_name": text(cm, "lessonName", ep, lctx),
                "topic": topic,
                "homework": homework,
            }
        )
    lessons = {row["id"] for row in out["lessons"]}
    for m in opt_list(journal, "marks", ep, where):
        a_id = ident(m, "assignmentId", ep, f"{where}, marks")
        student_id = ident(m, "studentId", ep, f"{where}, mark on assignment {a_id}")
        ctx = f"{where}, mark of pupil {student_id} on assignment {a_id}"
        if a_id not in lesson_of:
            continue  # a mark on an assignment the journal does not list: nothing to key it to
        out["marks"].append(
            {
                "assignment_id": a_id,
                "student_id": student_id,
                "lesson_id": lesson_of[a_id],
                "subject_group_id": sg_id,
                **mark_fields(_mark_value(m, ep, ctx), m.get("dutyMark")),
                "weight": number(m, "weight", ep, ctx),
                "entered_at": opt_moment(m, "date", ep, ctx),
            }
        )
    for a in opt_list(journal, "attendance", ep, where):
        lesson_id = ident(a, "classmeetingId", ep, f"{where}, attendance")
        student_id = ident(a, "studentId", ep, f"{where}, attendance on lesson {lesson_id}")
        ctx = f"{where}, absence of pupil {student_id} on lesson {lesson_id}"
        if lesson_id not in lessons:
            continue  # an absence on a lesson the journal does not list: nothing to key it to
        out["attendance"].append(
            {
                "lesson_id": lesson_id,
                "student_id": student_id,
                "subject_group_id": sg_id,
                "reason": text(a, "reason", ep, ctx, required=True),
                "entered_at": opt_moment(a, "date", ep, ctx),
            }
        )
    for total in opt_list(journal, "totals", ep, where):
        t_id = opt_ident(total, "termId", ep, f"{where}, totals") or term_id
        for pm in opt_list(total, "marks", ep, f"{where}, totals of term {t_id}"):
            student_id = ident(pm, "studentId", ep, f"{where}, totals of term {t_id}")
            ctx = f"{where}, period mark of pupil {student_id}"
            value = _mark_value(pm, ep, ctx)
            out["period_marks"].append(
                {
                    "subject_group_id": sg_id,
                    "term_id": t_id,
                    "student_id": student_id,
                    "mark": None if value is None else str(value),
                    "entered_at": opt_moment(pm, "date", ep, ctx),
                }
            )


# --- the diary (parent / pupil accounts) -----------------------------------------------------


def parse_diary_init(raw: Any) -> list[dict[str, Any]]:
    """The account's children; `classId: 0` / `className: null` mean no class (not class 0)."""
    ep = "student/diary/init"
    out = []
    for s in opt_list(raw, "students", ep):
        sid = ident(s, "studentId", ep)
        ctx = f"pupil {sid}"
        out.append(
            {
                "id": sid,
                "name": text(s, "nickName", ep, ctx),
                "class_id": opt_ident(s, "classId", ep, ctx),
                "class_name": text(s, "className", ep, ctx) or None,
            }
        )
    return out


def parse_diary(raw: Any, *, student_id: int, class_id: int | None) -> Records:
    """A diary week of one pupil: lessons, assignments and this pupil's marks."""
    ep = "student/diary"
    where = f"pupil {student_id}"
    out: Records = {"lessons": [], "assignments": [], "marks": []}
    for wd in req_list(raw, "weekDays", ep, where):
        date = req_day(wd, "date", ep, where)
        for lesson in req_list(wd, "lessons", ep, f"{where}, {date}"):
            lesson_id = ident(lesson, "classmeetingId", ep, f"{where}, {date}")
            lctx = f"{where}, lesson {lesson_id}"
            topic = homework = None
            for a in opt_list(lesson, "assignments", ep, lctx):
                a_id = ident(a, "id", ep, lctx)
                actx = f"{lctx}, assignment {a_id}"
                type_id = ident(a, "typeId", ep, actx)
                name = text(a, "assignmentName", ep, actx)
                if type_id == TOPIC_TYPE_ID and topic is None:
                    topic = clean_topic(name)
                if type_id == HOMEWORK_TYPE_ID and homework is None:
                    homework = clean_topic(name)
                out["assignments"].append(
                    {
                        "id": a_id,
                        "lesson_id": lesson_id,
                        "subject_group_id": None,
                        "type_id": type_id,
                        "name": name,
                        "weight": number(a, "weight", ep, actx),
                        "due_date": opt_day(a, "dueDate", ep, actx),
                        "created_at": None,
                        "entered_at": None,
                    }
                )
                mark = a.get("mark")
                if isinstance(mark, dict):
                    out["marks"].append(
                        {
                            "assignment_id": a_id,
                            "student_id": student_id,
                            "lesson_id": lesson_id,
                            "subject_group_id": None,
                            **mark_fields(_mark_value(mark, ep, actx), mark.get("dutyMark")),
                            "weight": number(a, "weight", ep, actx),
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
                    "subject_name": text(lesson, "subjectName", ep, lctx),
                    "plan_lesson_id": None,
                    "plan_lesson_name": None,
                    "topic": topic,
                    "homework": homework,
                }
            )
    return out


# --- the journal access report (HTML, CONTRACT §4 and §7) ------------------------------------

ACCESS_ENDPOINT = "JournalAccess.asp"
# Each known layout, recognised by the text of its header cells (never by table position).
ACCESS_LAYOUTS: dict[str, dict[str, str]] = {
    # CONTRACT §4 (the simulator's default): one row per user, class and day.
    "contract": {
        "user": "ФИО",
        "role": "Роль",
        "class": "Класс",
        "when": "Дата и время входа",
    },
    # JournalAccess.asp 2007–2013: one table per class, the last change of marks per group.
    "2013": {
        "subject": "Предмет",
        "when": "Дата последнего изменения оценок",
        "user": "Пользователь",
    },
    # a 2018 page: one 7-column table among two `table.table-print`.
    "2018": {
        "class": "Класс",
        "subject": "Предмет",
        "when": "Дата",
        "user": "Пользователь",
        "lesson": "Дата урока",
        "period": "Период",
        "action": "Действие",
    },
}


def _cells(tr: _Element) -> list[str]:
    """The text of a row's own cells, whitespace collapsed (comments are not text)."""
    return [_cell_text(cell) for cell in tr if cell.tag in _CELLS]


def _cell_text(cell: _Element) -> str:
    if len(cell):  # markup inside the cell: its text pieces joined by spaces
        return " ".join(" ".join(cell.itertext()).split())
    return " ".join(cell.text.split()) if cell.text else ""


_CELLS = ("td", "th")
# The plain etree HTML parser: lxml.html's would make a Python object per element.
_HTML = etree.HTMLParser()


def _tree(page: bytes) -> _Element:
    """The page's element tree; the bytes decoded as a browser would (BOM, <meta> charset,
    else what the bytes look like), so a page saved in windows-1251 or UTF-8 both read."""
    text = UnicodeDammit(page, is_html=True).unicode_markup or ""
    root = etree.fromstring(text, _HTML) if text.strip() else None
    return root if root is not None else etree.Element("html")


def _own_rows(table: _Element) -> list[_Element]:
    """The table's rows, not those of a table nested in one of its cells."""
    depth = int(table.xpath("count(ancestor-or-self::table)"))
    return list(table.xpath(".//tr[count(ancestor::table) = $depth]", depth=depth))


def _has_class(el: _Element, name: str) -> bool:
    return name in (el.get("class") or "").split()


def _layout_of(header: list[str]) -> tuple[str, dict[str, int]] | None:
    """The layout whose header names all appear in `header`, and each column's index."""
    folded = [h.casefold() for h in header]
    for name in ("2018", "contract", "2013"):
        wanted = ACCESS_LAYOUTS[name]
        if all(title.casefold() in folded for title in wanted.values()):
            return name, {key: folded.index(title.casefold()) for key, title in wanted.items()}
    return None


_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_CLOCK = re.compile(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?")


def _stamp(value: str, column: str) -> str | None:
    """`dd.mm.yyyy HH:MM` (or a bare date, or with seconds) → ISO; `-` or empty → None."""
    value = value.strip()
    if value in ("", "-", "—"):
        return None
    moment = _moment(value)
    if moment is None:
        raise LayoutError(ACCESS_ENDPOINT, column, f"unreadable value {value!r}")
    return moment


def _moment(value: str) -> str | None:
    """`_stamp`'s reading of one value: a real date, then a real time of day if any. A report
    repeats its days and minutes, so each part is read once (a value whole rarely repeats)."""
    parts = value.split()
    if not parts or len(parts) > 2:
        return None
    day = _day(parts[0])
    clock = _clock(parts[1]) if len(parts) == 2 else "00:00:00"
    if day is None or clock is None:
        return None
    return f"{day}T{clock}"


@functools.lru_cache(maxsize=4096)
def _day(value: str) -> str | None:
    found = _DAY.fullmatch(value)
    if found is None:
        return None
    d, m, y = map(int, found.groups())
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _clock(value: str) -> str | None:
    found = _CLOCK.fullmatch(value)
    if found is None:
        return None
    hh, mm, ss = (int(part or 0) for part in found.groups())
    try:
        return dt.time(hh, mm, ss).isoformat()
    except ValueError:
        return None


def _subtitles(root: _Element) -> dict[_Element, str | None]:
    """2013: each table's class, named in the last `.subtitle` before it ("5а, <teacher>")."""
    out: dict[_Element, str | None] = {}
    last: str | None = None
    for el in root.xpath(_TABLES_AND_SUBTITLES):
        if el.tag == "table":
            out[el] = last
        if _has_class(el, "subtitle"):
            last = " ".join(el.itertext()).split(",")[0].strip() or None
    return out


_TABLES_AND_SUBTITLES = (
    "//table | //*[contains(concat(' ', normalize-space(@class), ' '), ' subtitle ')]"
)


def access_report_layout(page: bytes) -> str | None:
    """Which known layout the page's table has ("contract", "2013", "2018"), even without rows."""
    for table in _tree(page).iter("table"):
        for tr in _own_rows(table):
            found = _layout_of(_cells(tr))
            if found is not None:
                return found[0]
    return None


def parse_access_report(
    page: bytes, class_id: int, class_ids: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """Rows of the journal access report, in any of its known layouts (found by header text).

    Takes bytes: the charset may be only in <meta>. `class_id` is the class asked for (-1: all;
    then `class_ids` maps class names to ids). A page whose tables have rows but yield none is a
    `LayoutError`, never an empty report.
    """
    ep = ACCESS_ENDPOINT
    root = _tree(page)
    if not any(_has_class(h2, "main-report-title") for h2 in root.iter("h2")):
        raise LayoutError(ep, "h2.main-report-title")
    subtitles: dict[_Element, str | None] | None = None  # read only for a 2013 page
    names = class_ids or {}
    rows: list[dict[str, Any]] = []
    data_rows = 0
    understood = 0
    found = False
    tables = list(root.iter("table"))
    for table in tables:
        trs = _own_rows(table)
        for i, tr in enumerate(trs):
            layout = _layout_of(_cells(tr))
            if layout is None:
                continue
            found = True
            kind, col = layout
            subtitle = None
            if "class" not in col:
                subtitles = _subtitles(root) if subtitles is None else subtitles
                subtitle = subtitles.get(table)
            for body in trs[i + 1 :]:
                cells = _cells(body)
                if len(cells) < len(col):
                    continue  # a spacer row
                data_rows += 1
                row = _access_row(kind, col, cells, subtitle, class_id, names)
                understood += 1
                if row is not None:
                    rows.append(row)
            break
    if not found:
        if not tables:
            raise LayoutError(ep, "table.table-print")
        raise LayoutError(
            ep,
            "header",
            "no table has a known header (ФИО/Роль/Класс/Дата и время входа, "
            "Предмет/Дата последнего изменения оценок/Пользователь, or the 7-column one)",
        )
    if data_rows and not understood:
        raise LayoutError(ep, "rows", f"{data_rows} rows on the page, none readable")
    return rows


def _access_row(
    kind: str,
    col: dict[str, int],
    cells: list[str],
    subtitle: str | None,
    class_id: int,
    names: dict[str, int],
) -> dict[str, Any] | None:
    when = _stamp(cells[col["when"]], ACCESS_LAYOUTS[kind]["when"])
    user = cells[col["user"]].strip()
    if when is None or user in ("", "-", "—"):
        return None  # 2013: "-" = marks never changed in this group
    class_name = cells[col["class"]] if "class" in col else subtitle
    cid = class_id if class_id not in (None, -1) else names.get(class_name or "")
    subject = cells[col["subject"]] if "subject" in col else None
    role = cells[col["role"]] if "role" in col else None
    action = cells[col["action"]] if "action" in col else None
    lesson = _stamp(cells[col["lesson"]], "Дата урока") if "lesson" in col else None
    if kind == "contract":
        key = "\x1f".join((user, role or "", str(cid), when))
    else:
        key = "\x1f".join((kind, user, str(cid), class_name or "", subject or "", when))
    return {
        "id": hashlib.sha1(key.encode("utf-8")).hexdigest()[:20],
        "user_name": user,
        "role": role,
        "class_id": cid,
        "class_name": class_name,
        "entered_at": when,
        "subject_name": subject,
        "action": action or ("Изменение оценок" if kind == "2013" else None),
        "lesson_date": lesson[:10] if lesson else None,
        "layout": kind,
    }
