"""One sync run: the lock, the `sync_runs` row, the deadline, progress; fetch feeding apply.

The batches `sync.fetch` yields are saved by `sync.apply` on the event loop as they arrive,
while the next requests are in flight (a batch takes ~1 ms to save; the answers that arrive
meanwhile wait in the socket). Everything a run saves
is one transaction that commits with the run's row: `ok`, or `partial` when some scopes were
skipped (recorded in `sync_skipped_scopes`, fetched again by the next run). A failure, a refused
deletion or the run's deadline rolls everything back and records a `failed` row with the one
line the user sees; a SIGKILL is rolled back by SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from asurso_sync.config import Config, PortalSettings
from asurso_sync.errors import AsursoSyncError, PortalError
from asurso_sync.mirror.db import first_import_journal, open_mirror, wal_again
from asurso_sync.mirror.history import RunClock
from asurso_sync.mirror.lock import SyncLock
from asurso_sync.mirror.runs import (
    close_stale_runs,
    fail_run,
    finish_run,
    last_success,
    skipped_scopes,
    start_run,
)
from asurso_sync.portal.client import PortalClient, Transport, is_family_role
from asurso_sync.portal.session import credentials
from asurso_sync.sync.apply import Applier, Guard
from asurso_sync.sync.fetch import (
    Item,
    Plan,
    Progress,
    Row,
    Skipped,
    SyncOptions,
    diary_batches,
    staff_batches,
)

log = logging.getLogger(__name__)

# SQLite's page cache for the run: the journal tables' indexes stay in memory. (A first
# import writes through the rollback journal, so spilling pages mid-run costs little there:
# a cache the size of a school's mirror saved ~0.02 s and cost ~35 MB more.)
CACHE_KB = 32768


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
    skipped: list[Skipped] = field(default_factory=list)
    scopes: int = 0

    @property
    def status(self) -> str:
        return "partial" if self.skipped else "ok"

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

    def skipped_line(self) -> str:
        """One line: how many scopes were left untouched, and the first reason."""
        first = self.skipped[0]
        kinds: dict[str, int] = {}
        for item in self.skipped:
            kinds[item.endpoint] = kinds.get(item.endpoint, 0) + 1
        what = ", ".join(f"{n} {endpoint}" for endpoint, n in kinds.items())
        return (
            f"run {self.run_id} is partial: {len(self.skipped)} of {self.scopes} scopes skipped "
            f"({what}) and left as they were; first: {first.endpoint} {_ids(first.scope)}: "
            f"{first.error}; the next sync tries them again"
        )


def _ids(scope: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in scope.items())


def _local(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds")


def sync_mirror(
    db_path: str | os.PathLike[str],
    settings: PortalSettings,
    login: str,
    password: str,
    options: SyncOptions = SyncOptions(),
    *,
    transport: Transport | None = None,
    progress: Progress | None = None,
    backoff_s: float = 0.5,
) -> SyncResult:
    """One sync run into the mirror at `db_path`: what it fetched in one transaction, or nothing.

    Raises `SyncLocked` when another sync holds the mirror, `DeletionRefused` when the answers
    would delete too much, and the portal's error (after the failed run is recorded) when
    fetching fails. Scopes skipped by a `partial` run are in the result's `skipped`.
    """
    tz = ZoneInfo(options.timezone)
    with SyncLock(db_path):
        db = open_mirror(db_path)
        try:
            return _run(db, settings, login, password, options, tz, transport, progress, backoff_s)
        finally:
            wal_again(db)
            db.close()


def _run(
    db: Database,
    settings: PortalSettings,
    login: str,
    password: str,
    options: SyncOptions,
    tz: ZoneInfo,
    transport: Transport | None,
    progress: Progress | None,
    backoff_s: float,
) -> SyncResult:
    stale = close_stale_runs(db)
    if stale:
        log.warning("marked %d interrupted earlier run(s) as failed", stale)
    started = time.monotonic()
    now = options.now or dt.datetime.now(dt.UTC)
    today = options.today or now.astimezone(tz).date()
    previous = last_success(db)
    retry = {
        (s["subject_group_id"], s["term_id"])
        for s in skipped_scopes(db)
        if s["endpoint"] == "grade/journal"
    }
    pinned = _mirror_year(db)
    run_id = start_run(
        db,
        mode=options.mode,
        since=options.since.isoformat() if options.since else None,
        portal_url=settings.base_url,
        started_at=now.astimezone(dt.UTC).isoformat(timespec="seconds") if options.now else None,
    )
    clock = RunClock(
        run_id=run_id,
        now_utc=now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        now_local=_local(now, tz),
        prev_local=(
            _local(dt.datetime.fromisoformat(previous["started_at"]), tz) if previous else None
        ),
    )
    client = PortalClient(
        settings,
        login,
        password,
        transport=transport,
        backoff_s=backoff_s,
        request_deadline_s=options.request_deadline_s,
        session=options.session,
    )
    plan = Plan()
    db.execute(f"PRAGMA cache_size=-{CACHE_KB}")
    # Each scope's SAVEPOINT keeps the pages it changes in a sub-journal, a temporary file by
    # default: ~120,000 writes of 4 KB per school sync. In memory it holds one scope's pages.
    db.execute("PRAGMA temp_store=MEMORY")
    first_import_journal(db)  # for an empty mirror; `sync_mirror` switches back to WAL
    db.conn.execute("BEGIN")
    try:
        applier = Applier(db, clock, Guard(options.max_deletion_share, options.accept_deletions))
        asyncio.run(
            _with_deadline(
                _fetch_and_save(client, options, today, plan, applier, progress, pinned, retry),
                options.run_deadline_s,
            )
        )
        fetched_at = time.monotonic()
        scopes = plan.journals + plan.plans + plan.access
        if scopes and len(applier.skipped) >= scopes:
            first = applier.skipped[0]
            raise PortalError(
                f"every one of the {scopes} journals, plans and reports failed; first: "
                f"{first.endpoint}: {first.error}"
            )
        counts = applier.finish()
        status = "partial" if applier.skipped else "ok"
        finish_run(
            db,
            run_id,
            status=status,
            journals=applier.journals,
            requests=client.requests,
            account_role=plan.role,
            server_version=client.server_version,
            portal_version=plan.portal_version or client.server_version,
            counts=counts,
            finished_at=clock.now_utc if options.now else None,
        )
        for item in applier.skipped:
            db.conn.execute(
                "INSERT INTO sync_skipped_scopes (run_id, endpoint, scope, error) "
                "VALUES (?, ?, ?, ?)",
                [run_id, item.endpoint, json.dumps(item.scope, ensure_ascii=False), item.error],
            )
        db.conn.commit()
    except BaseException as exc:
        db.conn.rollback()
        message = str(exc) if isinstance(exc, AsursoSyncError) else f"{type(exc).__name__}: {exc}"
        fail_run(
            db,
            run_id,
            message,
            requests=client.requests,
            server_version=client.server_version,
            portal_version=plan.portal_version or client.server_version,
        )
        raise
    result = SyncResult(
        run_id=run_id,
        mode=options.mode,
        role=plan.role,
        journals=applier.journals,
        requests=client.requests,
        retries=client.retries,
        seconds=time.monotonic() - started,
        counts=counts,
        fetch_seconds=fetched_at - started,
        save_seconds=time.monotonic() - fetched_at,
        skipped=list(applier.skipped),
        scopes=scopes,
    )
    log.info("sync %s", result.summary())
    if result.skipped:
        log.info("%s", result.skipped_line())
    return result


async def _with_deadline(work: Any, deadline_s: float | None) -> None:
    try:
        await asyncio.wait_for(work, deadline_s)
    except TimeoutError:
        raise PortalError(
            f"the sync did not finish within [sync] run_deadline_s = {deadline_s:g} s; "
            "nothing was saved — is the portal unusually slow?"
        ) from None


async def _fetch_and_save(
    client: PortalClient,
    options: SyncOptions,
    today: dt.date,
    plan: Plan,
    applier: Applier,
    progress: Progress | None,
    pinned: Row | None,
    retry: set[tuple[int, int]],
) -> None:
    async with client:
        await client.login()
        plan.role = client.role_name
        family = is_family_role(client.role_name) or bool(
            client.roles and all(is_family_role(r.get("name")) for r in client.roles)
        )
        batches: AsyncGenerator[Item, None]
        if family:
            log.info("the account is a parent or pupil: syncing the diary")
            batches = diary_batches(client, options, today, plan)
        else:
            batches = staff_batches(
                client,
                options,
                today,
                plan,
                pinned_year=pinned,
                retry=retry,
                known=applier.digests,
                window=2 * client.settings.concurrency + 2,
            )
        done = 0
        async with contextlib.aclosing(batches):  # a failure here stops the fetches at once
            async for item in batches:
                if item.kind == "school":
                    log.info("saving the school's lists, then each journal as it arrives")
                # Saved on the event loop, between answers: a writer thread cost ~1.2 s more
                # CPU per school sync (the GIL handed back and forth ~16,000 times) and saved
                # no wall time; the answers in flight keep arriving while a batch is saved.
                applier.apply(item)
                await asyncio.sleep(0)  # let the answers that arrived meanwhile be read
                if item.kind in ("journal", "plan"):
                    done += 1
                    if progress:
                        progress(done, plan.journals + plan.plans)


def _mirror_year(db: Database) -> Row | None:
    """The school year the mirror holds (the latest one), which a run keeps syncing."""
    row = db.execute(
        "SELECT id, name, start_date, end_date FROM years WHERE deleted_at IS NULL "
        "ORDER BY start_date DESC LIMIT 1"
    ).fetchone()
    return dict(zip(("id", "name", "start_date", "end_date"), row, strict=True)) if row else None


def run_sync(
    config: Config,
    *,
    full: bool = False,
    since: dt.date | None = None,
    accept_deletions: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    """The `sync` command: credentials from the environment or a 0600 file, then one run."""
    login, password, session = credentials(config)  # or an imported browser session
    options = SyncOptions(
        full=full,
        since=since,
        timezone=config.sync.timezone,
        fetch_access_report=config.sync.fetch_access_report,
        accept_deletions=accept_deletions,
        max_deletion_share=config.sync.max_deletion_share,
        request_deadline_s=config.sync.request_deadline_s or None,
        run_deadline_s=config.sync.run_deadline_s or None,
        session=session,
    )
    return sync_mirror(
        config.mirror_path, config.portal, login, password, options, progress=progress
    )
