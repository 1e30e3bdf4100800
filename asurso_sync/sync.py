"""The sync: portal records → mirror, all that a run fetched in ONE transaction or nothing.

`fetch_staff` (and `fetch_diary` for parent/pupil accounts) pull everything into memory as
mirror-shaped records plus the scope each table was fetched in; `apply_fetched` then saves them
with history inside one transaction together with the `sync_runs` row turning `ok`. A failure
before that leaves the mirror as it was and a `failed` run row with the reason; a SIGKILL during
the transaction is rolled back by SQLite.

Entry points: `sync_mirror` (any portal, any transport), `run_sync` (from the config, what the
`sync` command calls) and `sync_simulator` (the simulator in process: `demo`, tests, bench).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from asurso_sync.config import Config, PortalSettings, read_login, read_password
from asurso_sync.errors import AsursoSyncError
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.history import RunClock, Scope, TableStats, save_table
from asurso_sync.mirror.lock import SyncLock
from asurso_sync.mirror.runs import close_stale_runs, fail_run, finish_run, last_success, start_run
from asurso_sync.mirror.schema import SYNCED_TABLES
from asurso_sync.portal import adapter
from asurso_sync.portal.client import PortalClient, is_family_role

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncOptions:
    """What to fetch. `today`/`now` default to the real clock (the simulator passes its own)."""

    full: bool = False
    since: dt.date | None = None
    timezone: str = "Europe/Samara"
    fetch_access_report: bool = True
    today: dt.date | None = None
    now: dt.datetime | None = None  # aware; the run's bookkeeping time

    @property
    def mode(self) -> str:
        return "full" if self.full else ("since" if self.since else "incremental")


@dataclass
class Fetched:
    """Everything one run pulled: rows per table and the scope each table was fetched in."""

    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {t: [] for t in SYNCED_TABLES}
    )
    scopes: dict[str, Scope | None] = field(default_factory=dict)
    no_deletions: set[str] = field(default_factory=set)
    lesson_scope: Scope | None = None  # which lessons (and their rows) this run fetched
    pupils: set[int] | None = None  # a diary: only these pupils' marks were fetched
    journals: int = 0
    role: str | None = None

    def add(self, records: dict[str, list[dict[str, Any]]]) -> None:
        for table, rows in records.items():
            self.rows.setdefault(table, []).extend(rows)


@dataclass
class SyncResult:
    run_id: int
    mode: str
    role: str | None
    journals: int
    requests: int
    retries: int
    seconds: float
    counts: dict[str, dict[str, int]]
    fetch_seconds: float = 0.0
    save_seconds: float = 0.0

    def summary(self) -> str:
        """One line of counts (never names or marks)."""
        rows = sum(c["fetched"] for c in self.counts.values())
        changed = {
            k: sum(c[k] for c in self.counts.values())
            for k in ("inserted", "updated", "deleted", "restored")
        }
        return (
            f"run {self.run_id} ({self.mode}): {self.journals} journals, {self.requests} "
            f"requests, {rows} rows; {changed['inserted']} new, {changed['updated']} changed, "
            f"{changed['deleted']} deleted, {changed['restored']} restored "
            f"in {self.seconds:.1f} s"
        )


# --- choosing what to fetch ----------------------------------------------------------------


def choose_terms(terms: list[dict], today: dt.date, options: SyncOptions) -> list[dict]:
    """Full: every term; --since: terms ending on/after it; default: current and previous."""
    ordered = sorted(terms, key=lambda t: t["start_date"])
    if options.full:
        return ordered
    if options.since:
        return [t for t in ordered if t["end_date"] >= options.since.isoformat()]
    started = [i for i, t in enumerate(ordered) if t["start_date"] <= today.isoformat()]
    if not started:
        return ordered[:1]
    current = started[-1]
    return ordered[max(0, current - 1) : current + 1]


def first_day(options: SyncOptions, chosen: list[dict], year: dict) -> dt.date:
    """The first date a run covers (for the access report and the diary weeks)."""
    if options.full or not (options.since or chosen):
        return dt.date.fromisoformat(year["start_date"])
    if options.since:
        return options.since
    return dt.date.fromisoformat(chosen[0]["start_date"])


def _fmt(day: dt.date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


# --- fetching (staff) ----------------------------------------------------------------------


async def gather_or_cancel(*aws):
    """`asyncio.gather`, but the first failure cancels the calls still running (a failed run
    stops at once instead of finishing hundreds of requests it will throw away)."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def fetch_staff(
    client: PortalClient, options: SyncOptions, today: dt.date, progress: Progress | None = None
) -> Fetched:
    """Discovery, then one journal per (subject group, term) concurrently, then the КТП and
    the access report; everything kept in memory until the run applies it."""
    out = Fetched(role=client.role_name)
    context = await client.get("context", parse=adapter.parse_context)
    school_id = context["school_id"]
    year = await client.get("years/current", parse=adapter.parse_year)
    year_id = year["id"]
    (terms, vacations, classes, subjects, types, reasons, settings, card) = await gather_or_cancel(
        client.get("terms", parse=adapter.parse_terms),
        client.get("calendar/vacations", parse=lambda r: adapter.parse_vacations(r, year_id)),
        client.get(
            "classes", {"expand": "chiefs"}, parse=lambda r: adapter.parse_classes(r, year_id)
        ),
        client.get("subjects", parse=adapter.parse_subjects),
        client.get("grade/assignment/types", {"all": "true"}, parse=adapter.parse_assignment_types),
        client.get("grade/attendance/reasons", parse=adapter.parse_attendance_reasons),
        client.get(
            "school/settings",
            {"yearId": year_id},
            parse=lambda r: adapter.parse_settings(r, year_id),
        ),
        client.get(f"schools/{school_id}/card", parse=lambda r: adapter.parse_card(r, school_id)),
    )
    for term in terms:
        term["year_id"] = term["year_id"] or year_id
    out.add(
        {
            "schools": [card],
            "years": [year],
            "terms": terms,
            "vacations": vacations,
            "subjects": subjects,
            "assignment_types": types,
            "attendance_reasons": reasons,
            "school_settings": [settings],
        }
    )
    out.add(classes)
    class_ids = [c["id"] for c in classes["classes"]]
    per_class = await gather_or_cancel(
        *(
            asyncio.gather(
                client.get(
                    "subjectgroups",
                    {"classId": cid, "expand": "teachers,terms"},
                    parse=adapter.parse_subject_groups,
                ),
                client.get(
                    "grade/studentList",
                    {"classId": cid},
                    parse=lambda r, cid=cid: adapter.parse_students(r, cid),
                ),
            )
            for cid in class_ids
        )
    )
    for groups, students in per_class:
        out.add(groups)
        out.add({"students": students})
    groups = out.rows["subject_groups"]
    sg_ids = {g["id"] for g in groups}
    subject_name = {s["id"]: s["name"] for s in subjects}
    chosen = choose_terms(terms, today, options)
    chosen_ids = {t["id"] for t in chosen}
    sg_terms: dict[int, set[int]] = {}
    for link in out.rows["subject_group_terms"]:
        sg_terms.setdefault(link["subject_group_id"], set()).add(link["term_id"])
    jobs = [
        (g, t)
        for g in groups
        for t in sorted(sg_terms.get(g["id"]) or chosen_ids)
        if t in chosen_ids
    ]
    log.info(
        "discovered %d classes, %d subject groups; fetching %d journals over %d term(s)",
        len(class_ids),
        len(groups),
        len(jobs),
        len(chosen),
    )

    done = 0
    total = len(jobs) + len(groups)

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    async def journal(group: dict, term_id: int) -> dict:
        params = {
            "yearId": year_id,
            "classId": group["class_id"],
            "grade": -1,
            "sgId": group["id"],
            "termId": term_id,
        }
        records = await client.get(
            "grade/journal",
            params,
            parse=lambda r: adapter.parse_journal(
                r,
                sg_id=group["id"],
                term_id=term_id,
                class_id=group["class_id"],
                subject_name=subject_name.get(group["subject_id"]),
            ),
        )
        tick()
        return records

    async def plan(group: dict) -> dict:
        records = await client.get(
            "subjectplans/getForSubjectGroup",
            {"sgId": group["id"]},
            parse=lambda r: adapter.parse_plan(r, group["id"]),
        )
        tick()
        return records

    results = await gather_or_cancel(*(journal(g, t) for g, t in jobs), *(plan(g) for g in groups))
    for records in results:
        out.add(records)
    out.journals = len(jobs)

    start = first_day(options, chosen, year)
    end = min(today, dt.date.fromisoformat(year["end_date"]))
    if options.fetch_access_report and start <= end:
        out.add({"journal_access": await fetch_access(client, class_ids, start, end)})
    _complete(out)
    keys = {(g["id"], t) for g, t in jobs}
    _staff_scopes(out, year_id, set(class_ids), sg_ids, keys, start, end)
    return out


async def fetch_access(
    client: PortalClient, class_ids: list[int], start: dt.date, end: dt.date
) -> list[dict]:
    """The journal access report (CONTRACT §4) of each class for the synced dates."""
    base = {"AT": client.at or "", "VER": client.ver or "", "RPTID": "JournalAccess"}
    await client.post_html(
        "asp/Reports/ReportJournalAccess.asp", {**base, "RPNAME": "Доступ к журналу"}
    )
    pages = await gather_or_cancel(
        *(
            client.post_html(
                "asp/Reports/JournalAccess.asp",
                {
                    **base,
                    "AT": client.at or "",
                    "LoginType": "0",
                    "PCLID": str(cid),
                    "ADT": _fmt(start),
                    "DDT": _fmt(end),
                },
                parse=lambda page, cid=cid: adapter.parse_access_report(page, cid),
            )
            for cid in class_ids
        )
    )
    return [row for rows in pages for row in rows]


def _complete(out: Fetched) -> None:
    """Rows the journals reference but the lists did not name: pupils, types, codes."""
    rows = out.rows
    known_students = {s["id"] for s in rows["students"]}
    for s in rows.pop("journal_students", []):
        if s["id"] not in known_students:
            known_students.add(s["id"])
            rows["students"].append(s)
    types = {t["id"] for t in rows["assignment_types"]}
    unknown_types = sorted({a["type_id"] for a in rows["assignments"]} - types)
    rows["assignment_types"] += [
        {"id": t, "name": None, "abbr": None, "sort_order": None, "known": 0} for t in unknown_types
    ]
    codes = {r["code"] for r in rows["attendance_reasons"]}
    unknown_codes = sorted({a["reason"] for a in rows["attendance"]} - codes)
    rows["attendance_reasons"] += [
        {"code": c, "local_code": c, "name": None, "known": 0} for c in unknown_codes
    ]
    if unknown_types or unknown_codes:
        log.warning(
            "kept %d assignment type id(s) and %d absence code(s) the portal's lists "
            "do not name: %s",
            len(unknown_types),
            len(unknown_codes),
            ", ".join(map(str, unknown_types + unknown_codes)),
        )
    for table in ("marks", "attendance", "period_marks"):
        for r in rows[table]:
            if r["student_id"] not in known_students:
                known_students.add(r["student_id"])
                rows["students"].append(
                    {"id": r["student_id"], "class_id": None, "full_name": None}
                )
    teachers: dict[int, dict] = {}
    for t in rows["teachers"]:
        teachers.setdefault(t["id"], t)
    rows["teachers"] = list(teachers.values())


def _staff_scopes(
    out: Fetched,
    year_id: int,
    class_ids: set[int],
    sg_ids: set[int],
    keys: set[tuple[int, int]],
    start: dt.date,
    end: dt.date,
) -> None:
    """Where a missing row means «deleted on the portal»: only inside what this run fetched."""
    in_year: Scope = lambda r: r["year_id"] in (year_id, None)  # noqa: E731
    by_class: Scope = lambda r: r["class_id"] in class_ids  # noqa: E731
    by_sg: Scope = lambda r: r["subject_group_id"] in sg_ids  # noqa: E731
    fetched_sgs = {sg for sg, _ in keys}
    lo, hi = start.isoformat(), (end + dt.timedelta(days=1)).isoformat()
    out.scopes.update(
        {
            "terms": in_year,
            "vacations": in_year,
            "classes": in_year,
            "school_settings": in_year,
            "teachers": None,
            "subjects": None,
            "class_teachers": by_class,
            "subject_groups": by_class,
            "students": by_class,
            "subject_group_teachers": by_sg,
            "subject_group_terms": by_sg,
            "assignment_types": lambda r: r["known"] == 1,
            "attendance_reasons": lambda r: r["known"] == 1,
            "plans": by_sg,
            "plan_lessons": by_sg,
            "lessons": lambda r: (r["subject_group_id"], r["term_id"]) in keys,
            "period_marks": lambda r: (r["subject_group_id"], r["term_id"]) in keys,
            "subject_group_students": lambda r: r["subject_group_id"] in fetched_sgs,
            "journal_access": lambda r: r["class_id"] in class_ids and lo <= r["entered_at"] < hi,
        }
    )
    out.no_deletions |= {"schools", "years"}
    out.lesson_scope = out.scopes["lessons"]


# --- fetching (parent / pupil diary) -------------------------------------------------------


async def fetch_diary(
    client: PortalClient, options: SyncOptions, today: dt.date, progress: Progress | None = None
) -> Fetched:
    """A parent's or pupil's children, week by week, into the same tables (CONTRACT §5)."""
    out = Fetched(role=client.role_name)
    children = await client.get("student/diary/init", parse=adapter.parse_diary_init)
    year = await client.get("years/current", parse=adapter.parse_year)
    types = await client.get(
        "grade/assignment/types", {"all": "false"}, parse=adapter.parse_assignment_types
    )
    terms = await client.get("terms", parse=adapter.parse_terms)
    for term in terms:
        term["year_id"] = term["year_id"] or year["id"]
    out.add({"years": [year], "terms": terms, "assignment_types": types})
    chosen = choose_terms(terms, today, options)
    first = first_day(options, chosen, year)
    last = min(today, dt.date.fromisoformat(year["end_date"]))
    monday = first - dt.timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    for child in children:
        out.rows["classes"].append(
            {"id": child["class_id"], "year_id": year["id"], "name": child["class_name"]}
        )
        out.rows["students"].append(
            {"id": child["id"], "class_id": child["class_id"], "full_name": child["name"]}
        )
    jobs = [(c, w) for c in children for w in weeks]
    done = 0

    async def week(child: dict, monday: dt.date) -> dict:
        nonlocal done
        params = {
            "studentId": child["id"],
            "weekStart": monday.isoformat(),
            "weekEnd": (monday + dt.timedelta(days=6)).isoformat(),
            "yearId": year["id"],
        }
        records = await client.get(
            "student/diary",
            params,
            parse=lambda r: adapter.parse_diary(
                r, student_id=child["id"], class_id=child["class_id"]
            ),
        )
        done += 1
        if progress:
            progress(done, len(jobs))
        return records

    for records in await gather_or_cancel(*(week(c, w) for c, w in jobs)):
        out.add(records)
    out.journals = len(jobs)
    # diary rows leave unknown columns alone (subject group, term, ...)
    for table in ("lessons", "assignments", "marks"):
        out.rows[table] = [
            {k: v for k, v in r.items() if v is not None or k in ("mark",)} for r in out.rows[table]
        ]
    types_known = {t["id"] for t in types}
    out.rows["assignment_types"] += [
        {"id": t, "name": None, "abbr": None, "sort_order": None, "known": 0}
        for t in sorted({a["type_id"] for a in out.rows["assignments"]} - types_known)
    ]
    lo, hi = weeks[0].isoformat() if weeks else "", (last + dt.timedelta(days=1)).isoformat()
    class_ids = {c["class_id"] for c in children}
    out.scopes.update(
        {
            "terms": None,
            "assignment_types": lambda r: r["known"] == 1,
            "lessons": lambda r: r["class_id"] in class_ids and lo <= (r["date"] or "") < hi,
        }
    )
    out.lesson_scope = out.scopes["lessons"]
    out.pupils = {c["id"] for c in children}
    # a diary shows an assignment only with homework or the child's own mark: keep them
    out.no_deletions |= {"years", "classes", "students", "assignments"}
    return out


# --- applying ------------------------------------------------------------------------------


def apply_fetched(db, fetched: Fetched, clock: RunClock) -> dict[str, dict[str, int]]:
    """Save every table in dependency order; call inside the run's transaction."""
    counts: dict[str, dict[str, int]] = {}
    for table in SYNCED_TABLES:
        rows = fetched.rows.get(table) or []
        scope = fetched.scopes.get(table)
        deletions = table not in fetched.no_deletions and table in fetched.scopes
        if table in _LESSON_TABLES and fetched.lesson_scope is not None:
            scope = _under_lessons(db, fetched, table)
            deletions = table not in fetched.no_deletions
        stats: TableStats = save_table(
            db, table, rows, clock, scope=scope, detect_deletions=deletions
        )
        if stats.fetched or stats.deleted:
            counts[table] = stats.as_dict()
    return counts


_LESSON_TABLES = {"assignments", "marks", "attendance"}


def _under_lessons(db, fetched: Fetched, table: str) -> Scope:
    """Rows of the lessons this run fetched (the mirror's and the new ones), and for a diary
    only the children's own marks."""
    in_scope = fetched.lesson_scope
    assert in_scope is not None
    columns = ("id", "subject_group_id", "term_id", "class_id", "date")
    ids = {
        row[0]
        for row in db.execute(f"SELECT {', '.join(columns)} FROM lessons").fetchall()
        if in_scope(dict(zip(columns, row, strict=True)))
    }
    ids |= {r["id"] for r in fetched.rows["lessons"]}
    pupils = fetched.pupils
    if pupils is not None and table in ("marks", "attendance"):
        return lambda r: r["lesson_id"] in ids and r["student_id"] in pupils
    return lambda r: r["lesson_id"] in ids


# --- one run -------------------------------------------------------------------------------


def _local(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds")


def sync_mirror(
    db_path: str | Path,
    settings: PortalSettings,
    login: str,
    password: str,
    options: SyncOptions = SyncOptions(),
    *,
    transport=None,
    progress: Progress | None = None,
    backoff_s: float = 0.5,
) -> SyncResult:
    """One sync run into the mirror at `db_path`: all it fetched in one transaction, or nothing.

    Raises `SyncLocked` when another sync holds the mirror, and the portal's error (after the
    failed run is recorded) when fetching fails.
    """
    tz = ZoneInfo(options.timezone)
    with SyncLock(db_path):
        db = open_mirror(db_path)
        try:
            stale = close_stale_runs(db)
            if stale:
                log.warning("marked %d interrupted earlier run(s) as failed", stale)
            started = time.monotonic()
            now = options.now or dt.datetime.now(dt.UTC)
            today = options.today or now.astimezone(tz).date()
            run_id = start_run(
                db,
                mode=options.mode,
                since=options.since.isoformat() if options.since else None,
                portal_url=settings.base_url,
            )
            if options.now is not None:
                with db.conn:
                    db.conn.execute(
                        "UPDATE sync_runs SET started_at = ? WHERE id = ?",
                        [now.astimezone(dt.UTC).isoformat(timespec="seconds"), run_id],
                    )
            previous = last_success(db)
            prev_local = (
                _local(dt.datetime.fromisoformat(previous["started_at"]), tz) if previous else None
            )
            client = PortalClient(
                settings, login, password, transport=transport, backoff_s=backoff_s
            )
            try:
                fetched = asyncio.run(_fetch(client, options, today, progress))
            except AsursoSyncError as exc:
                fail_run(db, run_id, str(exc), requests=client.requests)
                raise
            except BaseException as exc:
                fail_run(db, run_id, f"{type(exc).__name__}: {exc}", requests=client.requests)
                raise
            fetched_at = time.monotonic()
            clock = RunClock(
                run_id=run_id,
                now_utc=now.astimezone(dt.UTC).isoformat(timespec="seconds"),
                now_local=_local(now, tz),
                prev_local=prev_local,
            )
            log.info(
                "saving %d fetched rows in one transaction",
                sum(len(rows) for rows in fetched.rows.values()),
            )
            try:
                with db.conn:
                    counts = apply_fetched(db, fetched, clock)
                    finish_run(
                        db,
                        run_id,
                        journals=fetched.journals,
                        requests=client.requests,
                        account_role=fetched.role,
                        server_version=client.server_version,
                        counts=counts,
                    )
                    if options.now is not None:
                        db.conn.execute(
                            "UPDATE sync_runs SET finished_at = ? WHERE id = ?",
                            [clock.now_utc, run_id],
                        )
            except BaseException as exc:
                fail_run(db, run_id, f"saving failed: {type(exc).__name__}: {exc}")
                raise
            result = SyncResult(
                run_id=run_id,
                mode=options.mode,
                role=fetched.role,
                journals=fetched.journals,
                requests=client.requests,
                retries=client.retries,
                seconds=time.monotonic() - started,
                counts=counts,
                fetch_seconds=fetched_at - started,
                save_seconds=time.monotonic() - fetched_at,
            )
            log.info("sync %s", result.summary())
            return result
        finally:
            db.close()


async def _fetch(
    client: PortalClient, options: SyncOptions, today: dt.date, progress: Progress | None
) -> Fetched:
    async with client:
        await client.login()
        family = is_family_role(client.role_name) or (
            client.roles and all(is_family_role(r.get("name")) for r in client.roles)
        )
        if family:
            log.info("the account is a parent or pupil: syncing the diary")
            return await fetch_diary(client, options, today, progress)
        return await fetch_staff(client, options, today, progress)


def run_sync(
    config: Config,
    *,
    full: bool = False,
    since: dt.date | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """The `sync` command: credentials from the environment or a 0600 file, then one run."""
    login = read_login(config.credentials)
    password = read_password(config.credentials, config.path.parent if config.path else None)
    options = SyncOptions(
        full=full,
        since=since,
        timezone=config.sync.timezone,
        fetch_access_report=config.sync.fetch_access_report,
    )
    return sync_mirror(
        config.mirror_path, config.portal, login, password, options, progress=progress
    )


def sync_simulator(
    db_path: str | Path,
    school=None,
    as_of: dt.date = dt.date(2026, 5, 20),
    *,
    app=None,
    role: str = "admin",
    full: bool = True,
    since: dt.date | None = None,
    faults: str | None = None,
    latency_ms: int = 0,
    settings: PortalSettings | None = None,
    backoff_s: float = 0.01,
    progress: Progress | None = None,
) -> SyncResult:
    """Sync the portal simulator, in process, into `db_path` as the simulated day `as_of`.

    Pass `school` (from `build_school`) or a ready `app` (from `make_app`; its clock is moved to
    `as_of`). The run's own clock is the evening of `as_of` in the school's time zone, so the
    mirror looks as if synced that day. `role` picks the simulator account (admin, deputy,
    teacher, parent, student, multirole, warned).
    """
    from asurso_sync.portal.wsgi_transport import AsyncWSGITransport
    from asurso_sync.simulator import FaultSpec, make_app

    if app is None:
        app = make_app(
            school,
            as_of=as_of,
            latency_ms=latency_ms,
            faults=FaultSpec.parse(faults) if faults else None,
        )
    else:
        app.set_as_of(as_of)
    account = next(a for a in app.accounts if a["role"] == role)
    base = settings or PortalSettings(
        base_url="http://simulator.test", concurrency=4, timeout_s=5.0, max_retries=4
    )
    base = replace(base, school_id=account.get("school_id"), school=None)
    tz = "Europe/Samara"
    evening = dt.datetime.combine(as_of, dt.time(21, 0), ZoneInfo(tz))
    options = SyncOptions(full=full, since=since, timezone=tz, today=as_of, now=evening)
    return sync_mirror(
        db_path,
        base,
        account["login"],
        account["password"],
        options,
        transport=AsyncWSGITransport(app),
        progress=progress,
        backoff_s=backoff_s,
    )
