"""Замечания: the remarks (violations) filtered, paginated; D1 as PDF; list handed over."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from asurso_sync import documents
from asurso_sync.documents.common import Period, month_period, term_period, terms
from asurso_sync.documents.remarks import scrub
from asurso_sync.documents.rule_texts import rule_texts
from asurso_sync.errors import AsursoSyncError
from asurso_sync.web.core import (
    NO_STORE,
    PAGE_SIZE,
    RENDER_LOCK,
    Ctx,
    open_ctx,
    period_label,
    posted,
    redirect,
)

STATUSES = {"new": "новое", "open": "не устранено", "fixed": "устранено", "excused": "снято"}
# the filter's choices: the four statuses and «открытые» (new or open)
STATUS_FILTER = {"active": "открытые (новые и не устранённые)", **STATUSES}
EVIDENCE = {
    "portal": "дата из портала",
    "observed": "замечено синхронизацией",
    "unknown": "время внесения неизвестно",
}
FILTERS = ("teacher", "class", "subject", "rule", "status", "period")


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise HTTPException(400, f"не число: {value!r}") from None


def periods(ctx: Ctx) -> list[tuple[str, str]]:
    """The choices of the period filter: the year's terms, then the months with remarks."""
    out = []
    number = 0
    for t in terms(ctx.mirror):
        if t["is_year"]:
            continue
        number += 1
        out.append((f"term{number}", t["name"]))
    months = ctx.mirror.execute(
        "SELECT DISTINCT substr(lesson_date, 1, 7) FROM violations "
        "WHERE lesson_date IS NOT NULL ORDER BY 1 DESC"
    ).fetchall()
    for (m,) in months:
        out.append((m, month_period(m).label))
    return out


def parse_period(ctx: Ctx, value: str | None) -> Period | None:
    if not value:
        return None
    try:
        if value.startswith("term"):
            return term_period(ctx.mirror, int(value[4:]))
        return month_period(value)
    except (AsursoSyncError, ValueError):
        raise HTTPException(400, f"нет такого периода: {value!r}") from None


def period_args(period: Period) -> dict[str, Any]:
    if period.kind == "term":
        return {"term": int(period.slug[4:])}
    return {"month": period.slug}


def attachment(name: str) -> str:
    """Content-Disposition for a Cyrillic file name (RFC 6266: an ASCII fallback + UTF-8)."""
    return f"attachment; filename=\"D1.pdf\"; filename*=UTF-8''{quote(name)}"


def own_teacher(ctx: Ctx, asked: int | None) -> int | None:
    """A teacher sees only their own remarks: another teacher's id is a 403."""
    if ctx.user.role != "teacher":
        return asked
    if asked is not None and asked != ctx.user.teacher_id:
        raise HTTPException(403, "Можно смотреть только свои замечания")
    return ctx.user.teacher_id


def query(ctx: Ctx, f: dict[str, Any], period: Period | None) -> tuple[str, list[Any]]:
    where, args = ["1 = 1"], []
    for key, column in (
        ("teacher", "v.teacher_id"),
        ("class", "v.class_id"),
        ("subject", "coalesce(v.subject_id, sg.subject_id)"),
    ):
        if f[key] is not None:
            where.append(f"{column} = ?")
            args.append(f[key])
    if f["rule"]:
        where.append("v.rule = ?")
        args.append(f["rule"])
    if f["status"] == "active":
        where.append("v.status IN ('new', 'open')")
    elif f["status"]:
        where.append("v.status = ?")
        args.append(f["status"])
    if period is not None:
        where.append("v.lesson_date BETWEEN ? AND ?")
        args += [period.start, period.end]
    return " AND ".join(where), args


FROM = """
  FROM violations v
  LEFT JOIN subject_groups sg ON sg.id = v.subject_group_id
"""


def remarks_page(request: Request) -> Response:
    ctx = open_ctx(request, "remarks")
    try:
        return _remarks(ctx)
    finally:
        ctx.close()


def _remarks(ctx: Ctx) -> Response:
    q = ctx.request.query_params
    f: dict[str, Any] = {
        "teacher": own_teacher(ctx, _int(q.get("teacher"))),
        "class": _int(q.get("class")),
        "subject": _int(q.get("subject")),
        "rule": q.get("rule") or None,
        "status": q.get("status") or None,
        "period": q.get("period") or None,
    }
    if f["status"] is not None and f["status"] not in STATUS_FILTER:
        raise HTTPException(400, "нет такого статуса")
    page = max(_int(q.get("page")) or 1, 1)
    period = parse_period(ctx, f["period"])
    where, args = query(ctx, f, period)
    db = ctx.mirror
    total = db.execute(f"SELECT count(*) {FROM} WHERE {where}", args).fetchone()[0]
    found = list(
        db.query(
            f"""SELECT v.id, v.rule, v.status, v.evidence, v.certainty, v.lesson_date,
                       v.deadline, v.detail, v.first_found_at, v.fixed_at, v.teacher_id,
                       t.name AS teacher_name, c.name AS class_name,
                       coalesce(sg.name, s.name) AS subject_name
                {FROM}
                LEFT JOIN teachers t ON t.id = v.teacher_id
                LEFT JOIN classes c ON c.id = v.class_id
                LEFT JOIN subjects s ON s.id = coalesce(v.subject_id, sg.subject_id)
               WHERE {where}
               ORDER BY v.lesson_date DESC, v.rule, v.id
               LIMIT ? OFFSET ?""",
            [*args, PAGE_SIZE, (page - 1) * PAGE_SIZE],
        )
    )
    texts = rule_texts()
    for r in found:
        title, clause = texts.get(r["rule"], (r["rule"], ""))
        r["rule_text"], r["clause"] = title, clause
        r["detail"] = scrub(r["detail"])
        r["evidence_text"] = EVIDENCE.get(r["evidence"] or "unknown", r["evidence"])
        r["status_text"] = STATUSES.get(r["status"], r["status"])
        prefix = f"{r['class_name']}/"
        if r["subject_name"] and r["class_name"] and r["subject_name"].startswith(prefix):
            r["subject_name"] = r["subject_name"][len(prefix) :]
    choices = _choices(ctx, f["teacher"] if ctx.user.role == "teacher" else None)
    teacher_name = next((n for i, n in choices["teachers"] if i == f["teacher"]), None)
    shown_period = f["period"] or _latest_month(ctx)
    shown = period or month_period(shown_period)
    term_names = [t["name"] for t in terms(db) if not t["is_year"]]
    issued = (
        documents.issued_lists(db, f["teacher"])
        if f["teacher"] is not None and ctx.user.role != "teacher"
        else []
    )
    ctx.audit("remarks", " ".join(f"{k}={v}" for k, v in f.items() if v is not None) or "all")
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    keep = {k: v for k, v in f.items() if v is not None}
    return ctx.render(
        "remarks.html",
        "remarks",
        rows=found,
        total=total,
        page_no=page,
        pages=pages,
        query=lambda n: urlencode({**keep, "page": n}),
        f=f,
        period=period,
        teacher_name=teacher_name,
        choices=choices,
        statuses=STATUS_FILTER,
        issued=issued,
        may_issue=ctx.may("issue_list"),
        default_period=shown_period,
        default_label=shown.label,
        period_label=lambda slug: period_label(slug, term_names),
        today=dt.date.today().isoformat(),
    )


def _latest_month(ctx: Ctx) -> str:
    row = ctx.mirror.execute("SELECT max(lesson_date) FROM violations").fetchone()
    return (row[0] or dt.date.today().isoformat())[:7]


def _choices(ctx: Ctx, only_teacher: int | None) -> dict[str, Any]:
    db = ctx.mirror
    teacher_sql = (
        "SELECT id, name FROM teachers WHERE deleted_at IS NULL AND id IN "
        "(SELECT DISTINCT teacher_id FROM violations) ORDER BY name"
    )
    teachers_found = [(r[0], r[1]) for r in db.execute(teacher_sql).fetchall()]
    if only_teacher is not None:
        teachers_found = [t for t in teachers_found if t[0] == only_teacher]
    return {
        "teachers": teachers_found,
        "classes": [
            (r[0], r[1])
            for r in db.execute(
                "SELECT id, name FROM classes WHERE deleted_at IS NULL "
                "ORDER BY CAST(grade AS INTEGER), letter, name"
            ).fetchall()
        ],
        "subjects": [
            (r[0], r[1])
            for r in db.execute(
                "SELECT id, name FROM subjects WHERE deleted_at IS NULL ORDER BY name"
            ).fetchall()
        ],
        "rules": [r[0] for r in db.execute("SELECT DISTINCT rule FROM violations ORDER BY rule")],
        "periods": periods(ctx),
    }


def d1_pdf(request: Request) -> Response:
    """The teacher's D1 for the period, rendered now through the documents package."""
    ctx = open_ctx(request, "remarks")
    try:
        q = request.query_params
        teacher = own_teacher(ctx, _int(q.get("teacher")))
        if teacher is None:
            raise HTTPException(400, "выберите учителя")
        period = parse_period(ctx, q.get("period") or _latest_month(ctx))
        assert period is not None
        with tempfile.TemporaryDirectory(prefix="asurso-web-") as tmp, RENDER_LOCK:
            try:
                files = documents.render(
                    ctx.settings.mirror_path,
                    "D1",
                    tmp,
                    fmt="pdf",
                    teacher=str(teacher),
                    settings=ctx.settings.config,
                    issued_by=ctx.user.login,
                    **period_args(period),
                )
            except AsursoSyncError as exc:
                raise HTTPException(400, str(exc)) from None
            pdf = next((p for p in files if p.suffix == ".pdf"), None)
            if pdf is None:
                raise HTTPException(404, "для этого учителя и периода нет списка")
            data = Path(pdf).read_bytes()
            name = pdf.name
        ctx.audit("remarks-d1", f"teacher={teacher} period={period.slug}")
        return Response(
            data,
            media_type="application/pdf",
            headers={**NO_STORE, "Content-Disposition": attachment(name)},
        )
    finally:
        ctx.close()


async def issued_post(request: Request) -> Response:
    async with posted(request, "remarks", "issue_list") as (ctx, form):
        teacher = _int(str(form.get("teacher", "")))
        period = parse_period(ctx, str(form.get("period", "")))
        if teacher is None or period is None:
            raise HTTPException(400, "нужны учитель и период")
        note = str(form.get("note", "")).strip()[:500]
        try:
            day = dt.date.fromisoformat(str(form.get("day", "")) or dt.date.today().isoformat())
        except ValueError:
            raise HTTPException(400, "дата: ДД.ММ.ГГГГ") from None
        at = dt.datetime.combine(day, dt.time(12), ZoneInfo(ctx.settings.timezone))
        documents.record_list_issued(
            ctx.mirror, teacher, period.slug, ctx.user.login, "handed", note, at=at
        )
        ctx.audit("remarks-issued", f"teacher={teacher} period={period.slug}")
        return redirect(f"/remarks?teacher={teacher}&period={period.slug}")
