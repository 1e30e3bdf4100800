"""What each scheduled job does: thin calls into the sync, rules, documents and archive.

Every job takes the job context and its slot (the aware datetime it was scheduled for) and
returns a short summary for the log; it raises on failure (the runner records it). The period a
report covers comes from the slot, never from the wall clock, so a job caught up a day late
still reports on the right week, month or term.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from asurso_sync.archive import run_full_checks, verify
from asurso_sync.config import Config
from asurso_sync.documents import render
from asurso_sync.documents.common import terms
from asurso_sync.errors import JobError
from asurso_sync.mirror.db import open_mirror
from asurso_sync.notify import EmailSettings, send_reports
from asurso_sync.rules import check, load_rule_settings
from asurso_sync.schedule.settings import ScheduleSettings
from asurso_sync.sync import run_sync

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    config: Config
    settings: ScheduleSettings
    email: EmailSettings | None = None
    env: Mapping[str, str] | None = None  # for the SMTP password (tests pass their own)

    def local(self, slot: datetime) -> datetime:
        return slot.astimezone(self.settings.tz)

    @property
    def reports_dir(self) -> Path:
        return self.config.resolve(self.settings.reports_dir)


def previous_week(slot_day: date) -> str:
    """ISO week before the slot's day: a Monday-morning job reports on last Mon–Sun."""
    y, w, _ = (slot_day - timedelta(days=7)).isocalendar()
    return f"{y:04d}-W{w:02d}"


def previous_month(slot_day: date) -> str:
    """The calendar month before the slot's month."""
    last = slot_day.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def ended_term_number(terms: list[dict], slot_day: date) -> int | None:
    """1-based number (date order, the year mark excluded) of the last term ended before the
    slot's day: the term a day-after-the-term job reports on."""
    periods = [t for t in terms if not t.get("is_year")]
    best = None
    for n, t in enumerate(periods, start=1):
        if date.fromisoformat(t["end_date"][:10]) < slot_day:
            best = n
    return best


def _render(ctx: JobContext, kinds: tuple[str, ...], folder: str, **period) -> list[Path]:
    """Render each kind for one period; returns the files a reader opens (html or pdf)."""
    out = ctx.reports_dir / folder
    files: list[Path] = []
    for kind in kinds:
        written = render(
            ctx.config.mirror_path,
            kind,
            out,
            fmt=ctx.settings.report_format,
            settings=ctx.config,
            **period,
        )
        files.extend(p for p in written if p.suffix == f".{ctx.settings.report_format}")
    return files


def _deliver(ctx: JobContext, title: str, files: list[Path]) -> str:
    if ctx.email is not None and ctx.settings.email_reports and files:
        send_reports(ctx.email, title, files, env=ctx.env)
        return f"{len(files)} file(s), e-mailed to {len(ctx.email.to)} recipient(s)"
    return f"{len(files)} file(s)"


def job_nightly(ctx: JobContext, slot: datetime) -> str:
    """The nightly incremental sync, then the checks over the fresh mirror.

    A partial sync (some scopes skipped, left as they were) still committed the rest, so the
    checks run over it; the job then fails with the sync's one line, so that the administrator
    hears of it. The next night's sync tries the skipped scopes again."""
    result = run_sync(ctx.config)
    checked = run_checks(ctx.config)
    if result.skipped:
        raise JobError(f"{result.skipped_line()}; check: {checked}")
    return f"sync {result.summary()}; check: {checked}"


def run_checks(config: Config) -> str:
    """Every rule as of the last sync's day (the rules' default), recorded; counts only."""
    settings = load_rule_settings(config)
    db = open_mirror(config.mirror_path)
    try:
        result = check(db, settings)
    finally:
        db.close()
    statuses: dict[str, int] = {}
    for per_rule in result.counts().values():
        for status, n in per_rule.items():
            statuses[status] = statuses.get(status, 0) + n
    return f"check {result.check_id} as of {result.as_of}: " + (
        ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "nothing found"
    )


def job_weekly_report(ctx: JobContext, slot: datetime) -> str:
    week = previous_week(ctx.local(slot).date())
    files = _render(ctx, ctx.settings.weekly_reports, week, week=week)
    return _deliver(ctx, f"еженедельные отчёты за неделю {week}", files)


def job_monthly_report(ctx: JobContext, slot: datetime) -> str:
    month = previous_month(ctx.local(slot).date())
    files = _render(ctx, ctx.settings.monthly_reports, month, month=month)
    return _deliver(ctx, f"ежемесячные отчёты за {month}", files)


def job_term_report(ctx: JobContext, slot: datetime) -> str:
    db = open_mirror(ctx.config.mirror_path)
    try:
        number = ended_term_number(terms(db), ctx.local(slot).date())
    finally:
        db.close()
    if number is None:
        raise JobError("no term of the mirror ended before this slot: nothing to report on")
    files = _render(ctx, ctx.settings.term_reports, f"term{number}", term=number)
    return _deliver(ctx, f"отчёты по итогам периода {number}", files)


def _fixity_outcome(results: list, kind: str) -> str:
    bad = [r for r in results if not r.ok]
    if bad:
        names = ", ".join(f"{r.bag} ({len(r.problems)} problem(s))" for r in bad)
        raise JobError(f"{kind} fixity check failed for {names}; run `asurso-sync archive verify`")
    return f"{len(results)} bag(s) ok"


def job_fixity_fast(ctx: JobContext, slot: datetime) -> str:
    return _fixity_outcome(verify(ctx.config, full=False), "fast")


def job_fixity_full(ctx: JobContext, slot: datetime) -> str:
    return _fixity_outcome(run_full_checks(ctx.config, ctx.local(slot).date()), "full")


JobFunc = Callable[[JobContext, datetime], str | None]

JOBS: dict[str, JobFunc] = {
    "nightly": job_nightly,
    "weekly-report": job_weekly_report,
    "monthly-report": job_monthly_report,
    "term-report": job_term_report,
    "fixity-fast": job_fixity_fast,
    "fixity-full": job_fixity_full,
}

TITLES = {
    "nightly": "nightly sync and checks",
    "weekly-report": "weekly reports (D3 activity) for the week before",
    "monthly-report": "monthly reports (D1 remarks, D2 filling) for the month before",
    "term-report": "term reports the day after each term ends",
    "fixity-fast": "fast fixity check of every archive bag",
    "fixity-full": "full re-hash of the bags due this week",
}
