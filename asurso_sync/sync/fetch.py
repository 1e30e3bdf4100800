"""Portal → records: what one run fetches, as a stream of batches, one per scope.

The first batch is the school (`kind="school"`: the year, terms, classes, subject groups,
pupils, ... — answers that describe the whole school). Then, concurrently, one batch per class
journal page (subject group × term), per КТП (subject group) and per class access report, in
the order they arrive. A per-scope answer that does not fit (a changed layout, an answer too
large) becomes a `Skipped` batch naming the endpoint, the ids and the reason; a school-wide one
fails the run. At most `window` batches are fetched ahead of the one being saved, so memory
stays bounded whatever the school's size.

Only `asurso_sync.portal` knows endpoints; this module chooses what to fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import sqlite3
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from asurso_sync.errors import AnswerTooLarge, LayoutError
from asurso_sync.portal import fetch as portal
from asurso_sync.portal.client import PortalClient

log = logging.getLogger(__name__)

Row = dict[str, Any]
Records = dict[str, list[Row]]
Progress = Callable[[int, int], None]

# What makes one scope's answer unusable without saying anything about the rest of the school.
SCOPE_ERRORS: tuple[type[BaseException], ...] = (
    LayoutError,
    AnswerTooLarge,
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    sqlite3.IntegrityError,
)


@dataclass(frozen=True)
class SyncOptions:
    """What to fetch. `today`/`now` default to the real clock (the simulator passes its own)."""

    full: bool = False
    since: dt.date | None = None
    timezone: str = "Europe/Samara"
    fetch_access_report: bool = True
    today: dt.date | None = None
    now: dt.datetime | None = None  # aware; the run's bookkeeping time
    accept_deletions: bool = False
    max_deletion_share: float = 0.2
    request_deadline_s: float | None = 120.0
    run_deadline_s: float | None = 10800.0
    session: dict[str, Any] | None = None  # an imported browser session (login --session-from)

    @property
    def mode(self) -> str:
        return "full" if self.full else ("since" if self.since else "incremental")


@dataclass
class Batch:
    """The records of one scope. `kind`: school, journal, plan, access or diary; `scope`: its
    ids; `info`: what the saving side needs beyond rows (the school's ids, the diary's range)."""

    kind: str
    endpoint: str
    scope: dict[str, Any]
    records: Records
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Skipped:
    """A scope whose answer did not fit: left as it is in the mirror this run."""

    kind: str
    endpoint: str
    scope: dict[str, Any]
    error: str


Item = Batch | Skipped


@dataclass
class Plan:
    """What a run is going to fetch, known after discovery (for progress and the summary)."""

    role: str | None = None
    journals: int = 0
    plans: int = 0
    access: int = 0
    portal_version: str | None = None


# Pseudo-tables of a batch: the digest of the raw answer, or "unchanged since last saved".
DIGEST = "_digest"
UNCHANGED = "_unchanged"


def scope_key(kind: str, scope: dict[str, Any]) -> str:
    """How a scope is named in `sync_scope_digests`."""
    return kind + json.dumps(scope, sort_keys=True)


# Bump when what a scope's records are saved as changes (a new table filled from them): the
# digests of answers saved the old way then no longer match, and the next run saves them anew.
DIGEST_VERSION = 2


def page_digest(page: bytes, salt: bytes = b"") -> str:
    """The digest of an answer as the rows saved from it depend on it (`salt`: what else
    they depend on); the answer is hashed where it lies, not copied."""
    digest = hashlib.blake2b(f"{DIGEST_VERSION}:".encode() + salt, digest_size=16)
    digest.update(page)
    return digest.hexdigest()


# --- choosing what to fetch ----------------------------------------------------------------


def choose_terms(terms: list[Row], today: dt.date, options: SyncOptions) -> list[Row]:
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


def first_day(options: SyncOptions, chosen: list[Row], year: Row) -> dt.date:
    """The first date a run covers (for the access report and the diary weeks)."""
    if options.full or not (options.since or chosen):
        return dt.date.fromisoformat(year["start_date"])
    if options.since:
        return options.since
    return dt.date.fromisoformat(chosen[0]["start_date"])


async def gather_or_cancel(*aws: Awaitable[Any]) -> list[Any]:
    """`asyncio.gather`, but the first failure cancels the calls still running (a failed run
    stops at once instead of finishing hundreds of requests it will throw away)."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


Job = tuple[str, str, dict[str, Any], Callable[[], Awaitable[Records]]]


async def completed(jobs: list[Job], window: int) -> AsyncGenerator[Item, None]:
    """Run the jobs concurrently and yield each result as it arrives, at most `window` ahead of
    the consumer; a scope error becomes `Skipped`, any other error stops everything."""
    ahead = asyncio.Semaphore(window)
    queue: asyncio.Queue[Item | BaseException] = asyncio.Queue()

    async def run(job: Job) -> None:
        kind, endpoint, scope, call = job
        await ahead.acquire()
        try:
            records = await call()
        except asyncio.CancelledError:
            raise
        except SCOPE_ERRORS as exc:
            log.info("skipped %s %s: %s", endpoint, scope, exc)
            queue.put_nowait(Skipped(kind, endpoint, scope, one_line(exc)))
        except BaseException as exc:
            queue.put_nowait(exc)
        else:
            queue.put_nowait(Batch(kind, endpoint, scope, records))

    tasks = [asyncio.create_task(run(job)) for job in jobs]
    try:
        for _ in tasks:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            ahead.release()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def one_line(exc: BaseException) -> str:
    """Why a scope was skipped, in one line (the error's class named unless it is ours)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, LayoutError | AnswerTooLarge):
        text = f"{type(exc).__name__}: {text}"
    return text[:300]


# --- staff ---------------------------------------------------------------------------------


async def staff_batches(
    client: PortalClient,
    options: SyncOptions,
    today: dt.date,
    plan: Plan,
    *,
    pinned_year: Row | None = None,
    retry: set[tuple[int, int]] | None = None,
    known: dict[str, str] | None = None,
    window: int = 8,
) -> AsyncGenerator[Item, None]:
    """The school batch, then every journal, КТП and access report batch as it arrives.

    `pinned_year`: the year the mirror holds; when the portal has moved on to another year the
    run keeps syncing this one (every call names it). `retry`: (subject group, term) journals
    skipped by the last run, fetched again even when outside the chosen terms. `known`: the
    digests of the answers the mirror last saved per scope (`scope_key`): an access report page
    identical to its saved one is not parsed again.
    """
    known = known or {}
    context = await portal.fetch_context(client)
    plan.portal_version = context.get("version") or client.server_version
    school_id = context["school_id"]
    year = await portal.fetch_current_year(client)
    if pinned_year is not None and pinned_year["id"] != year["id"]:
        log.warning(
            "the portal's current year is %s, this mirror holds %s: syncing %s (start a new "
            "mirror for the new year)",
            year["name"],
            pinned_year["name"],
            pinned_year["name"],
        )
        year = pinned_year
    year_id = year["id"]
    (terms, vacations, classes, subjects, types, reasons, settings, card) = await gather_or_cancel(
        portal.fetch_terms(client, year_id),
        portal.fetch_vacations(client, year_id),
        portal.fetch_classes(client, year_id),
        portal.fetch_subjects(client, year_id),
        portal.fetch_assignment_types(client),
        portal.fetch_attendance_reasons(client),
        portal.fetch_school_settings(client, year_id),
        portal.fetch_school_card(client, school_id),
    )
    records: Records = {
        "schools": [card],
        "years": [year],
        "terms": terms,
        "vacations": vacations,
        "subjects": subjects,
        "assignment_types": types,
        "attendance_reasons": reasons,
        "school_settings": [settings],
    }
    _add(records, classes)
    class_ids = [c["id"] for c in classes["classes"]]
    per_class = await gather_or_cancel(
        *(
            gather_or_cancel(
                portal.fetch_subject_groups(client, cid, year_id),
                portal.fetch_students(client, cid, year_id),
            )
            for cid in class_ids
        )
    )
    for groups, students in per_class:
        _add(records, groups)
        _add(records, {"students": students})
    records["teachers"] = list({t["id"]: t for t in records.get("teachers", [])}.values())
    groups_ = records.get("subject_groups", [])
    subject_name = {s["id"]: s["name"] for s in subjects}
    chosen = choose_terms(terms, today, options)
    chosen_ids = {t["id"] for t in chosen}
    sg_terms: dict[int, set[int]] = {}
    for link in records.get("subject_group_terms", []):
        sg_terms.setdefault(link["subject_group_id"], set()).add(link["term_id"])
    term_ids = {t["id"] for t in terms}
    pairs = {
        (g["id"], t)
        for g in groups_
        for t in (sg_terms.get(g["id"]) or chosen_ids)
        if t in chosen_ids
    }
    by_id = {g["id"]: g for g in groups_}
    pairs |= {(sg, t) for sg, t in retry or set() if t in term_ids and sg in by_id}
    start = first_day(options, chosen, year)
    end = min(today, dt.date.fromisoformat(year["end_date"]))
    access = options.fetch_access_report and start <= end and bool(class_ids)
    plan.journals, plan.plans = len(pairs), len(groups_)
    plan.access = len(class_ids) if access else 0
    log.info(
        "discovered %d classes, %d subject groups; fetching %d journals over %d term(s)",
        len(class_ids),
        len(groups_),
        len(pairs),
        len(chosen),
    )
    yield Batch(
        "school",
        "school",
        {"year_id": year_id},
        records,
        info={
            "year_id": year_id,
            "class_ids": class_ids,
            "sg_ids": sorted(by_id),
            "pairs": sorted(pairs),
        },
    )

    def journal(sg_id: int, term_id: int) -> Callable[[], Awaitable[Records]]:
        group = by_id[sg_id]
        name = subject_name.get(group["subject_id"])
        key = scope_key("journal", {"subject_group_id": sg_id, "term_id": term_id})
        # the rows depend on the answer and on what the school lists say of its group
        salt = json.dumps([group["class_id"], name]).encode() + b"\n"

        async def call() -> Records:
            digests: list[str] = []

            def unchanged(body: bytes) -> Records | None:
                digests.append(page_digest(body, salt))
                if known.get(key) != digests[-1]:
                    return None
                return {UNCHANGED: [{"digest": digests[-1]}]}

            records = await portal.fetch_journal(
                client,
                year_id=year_id,
                class_id=group["class_id"],
                sg_id=sg_id,
                term_id=term_id,
                subject_name=name,
                unchanged=unchanged,
            )
            if UNCHANGED not in records:
                records[DIGEST] = [{"digest": digests[-1]}]
            return records

        return call

    def ktp(sg_id: int) -> Callable[[], Awaitable[Records]]:
        return lambda: portal.fetch_plan(client, sg_id, year_id)

    def report(class_id: int, scope: dict[str, Any]) -> Callable[[], Awaitable[Records]]:
        async def call() -> Records:
            page = await portal.fetch_access_page(client, class_id, start, end)
            digest = page_digest(page)
            if known.get(scope_key("access", scope)) == digest:
                return {UNCHANGED: [{"digest": digest}]}
            rows = portal.parse_access_page(page, class_id)
            return {"journal_access": rows, DIGEST: [{"digest": digest}]}

        return call

    # The access reports first (few, and slow for the portal to build), then each group's
    # КТП beside its journals, so that no long call is left for the end of the run.
    jobs: list[Job] = []
    if access:
        await portal.open_access_report(client)
        span = {"from": start.isoformat(), "to": end.isoformat()}
        for cid in class_ids:
            scope = {"class_id": cid, **span}
            jobs.append(("access", "JournalAccess.asp", scope, report(cid, scope)))
    terms_of: dict[int, list[int]] = {}
    for sg, t in sorted(pairs):
        terms_of.setdefault(sg, []).append(t)
    for sg in sorted(by_id):
        jobs.append(("plan", "subjectplans/getForSubjectGroup", {"subject_group_id": sg}, ktp(sg)))
        jobs += [
            ("journal", "grade/journal", {"subject_group_id": sg, "term_id": t}, journal(sg, t))
            for t in terms_of.get(sg, [])
        ]
    async with contextlib.aclosing(completed(jobs, window)) as items:
        async for item in items:
            yield item


def _add(records: Records, more: Records) -> None:
    for table, rows in more.items():
        records.setdefault(table, []).extend(rows)


# --- parent / pupil diary ------------------------------------------------------------------


async def diary_batches(
    client: PortalClient, options: SyncOptions, today: dt.date, plan: Plan
) -> AsyncGenerator[Item, None]:
    """A parent's or pupil's children, week by week, as one batch (a diary is small)."""
    children = await portal.fetch_diary_init(client)
    year = await portal.fetch_current_year(client)
    plan.portal_version = client.server_version
    types = await portal.fetch_assignment_types(client, all_types=False)
    terms = await portal.fetch_terms(client, year["id"])
    chosen = choose_terms(terms, today, options)
    first = first_day(options, chosen, year)
    last = min(today, dt.date.fromisoformat(year["end_date"]))
    monday = first - dt.timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    records: Records = {
        "years": [year],
        "terms": terms,
        "assignment_types": types,
        "classes": [  # diary/init may name no class (classId 0): then no class row at all
            {"id": c["class_id"], "year_id": year["id"], "name": c["class_name"]}
            for c in children
            if c["class_id"] is not None
        ],
        "students": [
            {"id": c["id"], "class_id": c["class_id"], "full_name": c["name"]} for c in children
        ],
        "lessons": [],
        "assignments": [],
        "marks": [],
    }
    jobs = [(c, w) for c in children for w in weeks]
    plan.journals = len(jobs)

    async def week(child: Row, monday: dt.date) -> Records:
        return await portal.fetch_diary_week(
            client,
            student_id=child["id"],
            class_id=child["class_id"],
            year_id=year["id"],
            monday=monday,
        )

    for week_records in await gather_or_cancel(*(week(c, w) for c, w in jobs)):
        for table in ("lessons", "assignments", "marks"):
            # diary rows leave the columns a diary does not show alone (subject group, term, ...)
            records[table] += [
                {k: v for k, v in r.items() if v is not None or k == "mark"}
                for r in week_records[table]
            ]
    lo = weeks[0].isoformat() if weeks else ""
    hi = (last + dt.timedelta(days=1)).isoformat()
    yield Batch(
        "diary",
        "student/diary",
        {"students": [c["id"] for c in children]},
        records,
        info={
            "class_ids": sorted({c["class_id"] for c in children if c["class_id"] is not None}),
            "pupils": [c["id"] for c in children],
            "weeks": len(jobs),
            "from": lo,
            "to": hi,
        },
    )
