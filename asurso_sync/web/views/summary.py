"""Сводка: sync health, open remarks by rule and teacher with the change since last month,
the year's trend (SVG), and what is due this week."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from asurso_sync import archive, documents
from asurso_sync.documents.common import terms
from asurso_sync.documents.rule_texts import rule_texts
from asurso_sync.errors import AsursoSyncError
from asurso_sync.mirror.status import sync_health
from asurso_sync.rules import load_rule_settings
from asurso_sync.web.chart import line_chart
from asurso_sync.web.core import Ctx, open_ctx, period_label

MONTHS_SHORT = ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]
HEALTH = {
    "ok": "в порядке",
    "stale": "данные устарели (больше 36 ч без успешной синхронизации)",
    "failing": "последние синхронизации не удались",
    "never": "синхронизации ещё не было",
}


SINCE = "coalesce(lesson_date, deadline, substr(first_found_at, 1, 10))"


@dataclass
class Remarks:
    """The year's remarks in two grouped reads, so the counts, the change since last month and
    the trend need no scan per number.

    A remark is open at the end of a day when its lesson (or deadline, or finding) is on or
    before that day and it was not fixed by then; excused entries never are (as D1 counts)."""

    groups: list[tuple[str, int | None, int, int, int]]  # rule, teacher, open now, was, count
    spans: list[tuple[str, str | None, int]]  # since, fixed on, count

    @classmethod
    def load(cls, ctx: Ctx, before: str) -> Remarks:
        groups = ctx.mirror.execute(
            f"""SELECT rule, teacher_id, status IN ('new', 'open'),
                       {SINCE} <= :d AND NOT coalesce(substr(fixed_at, 1, 10) <= :d, 0),
                       count(*)
                  FROM violations WHERE status != 'excused' GROUP BY 1, 2, 3, 4""",
            {"d": before},
        ).fetchall()
        spans = ctx.mirror.execute(
            f"SELECT {SINCE} AS s, substr(fixed_at, 1, 10) AS f, count(*) FROM violations "
            "WHERE status != 'excused' GROUP BY s, f"
        ).fetchall()
        return cls(groups, spans)

    def open_on(self, day: str) -> int:
        return sum(
            n
            for since, fixed, n in self.spans
            if (since or "") <= day and not (fixed and fixed <= day)
        )

    def by(self, key: str) -> list[tuple[Any, int, int]]:
        """(rule or teacher, open now, open at the end of last month), most open first."""
        index = 0 if key == "rule" else 1
        now: Counter[Any] = Counter()
        was: Counter[Any] = Counter()
        for g in self.groups:
            now[g[index]] += g[4] if g[2] else 0
            was[g[index]] += g[4] if g[3] else 0
        keys = [k for k in set(now) | set(was) if now[k] or was[k]]
        return sorted(((k, now[k], was[k]) for k in keys), key=lambda t: (-t[1], -t[2], str(t[0])))


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
    found = Remarks.load(ctx, before)
    by_rule = [
        {"rule": r, "text": texts.get(r, (r, ""))[0], "now": now, "before": was}
        for r, now, was in found.by("rule")
    ]
    names = dict(db.execute("SELECT id, name FROM teachers").fetchall())
    by_teacher = [
        {"id": tid, "name": names.get(tid) or f"учитель {tid}", "now": now, "before": was}
        for tid, now, was in found.by("teacher")
        if tid is not None and now
    ][:30]
    for t in by_teacher:
        handed = [i for i in documents.issued_lists(db, t["id"]) if i["how"] == "handed"]
        t["handed"] = handed[0] if handed else None
    term_names = [t["name"] for t in terms(db) if not t["is_year"]]
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
        chart=line_chart(trend(ctx, found, today), "Открытые замечания на конец месяца"),
        due=due_this_week(ctx, today),
        period_label=lambda slug: period_label(slug, term_names),
    )


def trend(ctx: Ctx, found: Remarks, today: dt.date) -> list[tuple[str, int]]:
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
    counts = {e.isoformat(): found.open_on(e.isoformat()) for e in ends}
    return [(MONTHS_SHORT[e.month - 1], counts.get(e.isoformat(), 0)) for e in ends]


def due_this_week(ctx: Ctx, today: dt.date) -> list[dict[str, Any]]:
    """Term ends and period-mark deadlines in the next 7 days; bags due or to check."""
    until = today + dt.timedelta(days=7)
    offset = load_rule_settings(ctx.settings.config).final_offset_days
    out: list[dict[str, Any]] = []
    for t in terms(ctx.mirror):
        end = dt.date.fromisoformat(t["end"])
        what = "год" if t["is_year"] else t["name"]
        marks_by = end - dt.timedelta(days=offset)
        if today <= marks_by <= until:
            out.append({"day": marks_by, "text": f"Срок итоговых отметок за «{what}» (R13)"})
        if today <= end <= until:
            out.append({"day": end, "text": f"Конец периода «{what}»"})
    try:
        section = archive.status_section(ctx.settings.config, today)
    except (AsursoSyncError, OSError):
        section = {"full_checks_overdue": [], "due": []}
    for bag in section["full_checks_overdue"]:
        out.append({"day": today, "text": f"Полная проверка пакета {bag}"})
    for bag in section["due"]:
        out.append({"day": today, "text": f"Истёк срок хранения: {bag} (акт об уничтожении)"})
    return sorted(out, key=lambda d: d["day"])
