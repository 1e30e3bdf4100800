"""Сводка: sync health, open remarks by rule and teacher with the change since last month,
the year's trend (SVG), and what is due this week."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from asurso_sync import archive
from asurso_sync.documents.common import terms
from asurso_sync.documents.rule_texts import rule_texts
from asurso_sync.errors import AsursoSyncError
from asurso_sync.mirror.status import sync_health
from asurso_sync.web.chart import line_chart
from asurso_sync.web.core import Ctx, open_ctx

MONTHS_SHORT = ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]
HEALTH = {
    "ok": "в порядке",
    "stale": "данные устарели (больше 36 ч без успешной синхронизации)",
    "failing": "последние синхронизации не удались",
    "never": "синхронизации ещё не было",
}
# open at the end of day ?: its lesson (or deadline, or finding) on or before, not fixed by then
OPEN_ON = (
    "status != 'excused' AND coalesce(lesson_date, deadline, substr(first_found_at, 1, 10)) <= ? "
    "AND (fixed_at IS NULL OR substr(fixed_at, 1, 10) > ?)"
)


def as_of(ctx: Ctx) -> dt.date:
    """The day the remarks speak of: the last check's as-of date, else today."""
    row = ctx.mirror.execute("SELECT max(as_of) FROM check_runs").fetchone()
    return dt.date.fromisoformat(row[0][:10]) if row and row[0] else dt.date.today()


def month_end_before(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


def summary_page(request: Request) -> Response:
    ctx = open_ctx(request, "summary")
    try:
        return _summary(ctx)
    finally:
        ctx.close()


def _summary(ctx: Ctx) -> Response:
    db = ctx.mirror
    today = as_of(ctx)
    before = month_end_before(today).isoformat()
    runs = list(
        db.query(
            "SELECT id, started_at, finished_at, status, mode, error FROM sync_runs "
            "ORDER BY id DESC LIMIT 5"
        )
    )
    health = sync_health(db)
    texts = rule_texts()
    by_rule = [
        {"rule": r, "text": texts.get(r, (r, ""))[0], "now": now, "before": was}
        for r, now, was in db.execute(
            f"""SELECT rule, sum(status IN ('new', 'open')), sum({OPEN_ON})
                  FROM violations GROUP BY rule
                HAVING sum(status IN ('new', 'open')) > 0 OR sum({OPEN_ON}) > 0
                 ORDER BY 2 DESC, rule""",
            [before, before, before, before],
        ).fetchall()
    ]
    by_teacher = [
        {"id": tid, "name": name or f"учитель {tid}", "now": now, "before": was}
        for tid, name, now, was in db.execute(
            f"""SELECT v.teacher_id, t.name, sum(v.status IN ('new', 'open')), sum({OPEN_ON})
                  FROM violations v LEFT JOIN teachers t ON t.id = v.teacher_id
                 WHERE v.teacher_id IS NOT NULL
                 GROUP BY v.teacher_id
                HAVING sum(v.status IN ('new', 'open')) > 0
                 ORDER BY 3 DESC, t.name LIMIT 30""",
            [before, before],
        ).fetchall()
    ]
    ctx.audit("summary")
    return ctx.render(
        "summary.html",
        "summary",
        today=today,
        runs=runs,
        health=health,
        health_text=HEALTH.get(health["state"], health["state"]),
        by_rule=by_rule,
        by_teacher=by_teacher,
        total_now=sum(r["now"] for r in by_rule),
        total_before=sum(r["before"] for r in by_rule),
        before=before,
        chart=line_chart(trend(ctx, today), "Открытые замечания на конец месяца"),
        due=due_this_week(ctx, today),
    )


def trend(ctx: Ctx, today: dt.date) -> list[tuple[str, int]]:
    """Open remarks at the end of each month of the (latest) school year, up to `today`."""
    row = ctx.mirror.execute(
        "SELECT start_date, end_date FROM years WHERE deleted_at IS NULL AND start_date <= ? "
        "ORDER BY start_date DESC LIMIT 1",
        [today.isoformat()],
    ).fetchone()
    if row is None:
        return []
    start = dt.date.fromisoformat(row[0][:10])
    last = min(dt.date.fromisoformat(row[1][:10]), today)
    ends: list[dt.date] = []
    month = start.replace(day=1)
    while month <= last and len(ends) < 13:
        nxt = (month + dt.timedelta(days=32)).replace(day=1)
        ends.append(min(nxt - dt.timedelta(days=1), last))
        month = nxt
    if not ends:
        return []
    values = " UNION ALL ".join("SELECT ? AS d" for _ in ends)
    counts = dict(
        ctx.mirror.execute(
            f"""SELECT e.d, (SELECT count(*) FROM violations
                              WHERE {OPEN_ON.replace("?", "e.d")})
                  FROM ({values}) e""",
            [e.isoformat() for e in ends],
        ).fetchall()
    )
    return [(MONTHS_SHORT[e.month - 1], counts.get(e.isoformat(), 0)) for e in ends]


def due_this_week(ctx: Ctx, today: dt.date) -> list[dict[str, Any]]:
    """Term ends and period-mark deadlines in the next 7 days; bags due or to check."""
    until = today + dt.timedelta(days=7)
    out: list[dict[str, Any]] = []
    for t in terms(ctx.mirror):
        end = dt.date.fromisoformat(t["end"])
        if today <= end <= until:
            what = "год" if t["is_year"] else t["name"]
            out.append({"day": end, "text": f"Конец периода «{what}»"})
            out.append(
                {"day": end, "text": f"Отметки за «{what}» должны быть выставлены до {end:%d.%m}"}
            )
    try:
        section = archive.status_section(ctx.settings.config, today)
    except (AsursoSyncError, OSError):
        section = {"full_checks_overdue": [], "due": []}
    for bag in section["full_checks_overdue"]:
        out.append({"day": today, "text": f"Полная проверка пакета {bag}"})
    for bag in section["due"]:
        out.append({"day": today, "text": f"Истёк срок хранения: {bag} (акт об уничтожении)"})
    return sorted(out, key=lambda d: d["day"])
