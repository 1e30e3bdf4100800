"""`demo`: a simulated school served on 127.0.0.1, synced into DIR/asurso.db, summarised.

The demo is a list of steps (`STEPS`); each takes the shared `DemoContext` and may add lines to
its summary. `demo --classes 5а` renders only those classes' documents (a quick look, and the
end-to-end test); the whole school's PDF work is bench/bench_demo.py's.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from asurso_sync.archive import ArchiveError, create, register_rows
from asurso_sync.archive.layout import read_only
from asurso_sync.config import ArchiveSettings, Config, MirrorSettings, PortalSettings
from asurso_sync.documents import KINDS, render
from asurso_sync.documents.cache import RenderCache
from asurso_sync.documents.output import load_weasyprint
from asurso_sync.errors import AsursoSyncError, MissingExtra
from asurso_sync.mirror.db import open_mirror
from asurso_sync.portal.wsgi_transport import AsyncWSGITransport
from asurso_sync.rules import check, parse_rule_settings
from asurso_sync.simulator import FaultSpec, build_school, make_app, serve
from asurso_sync.sync import SyncOptions, SyncResult, sync_mirror
from asurso_sync.sync.fetch import Progress
from asurso_sync.web.demo import step_web

log = logging.getLogger(__name__)

DEMO_YEAR_START = 2025
DEMO_AS_OF = dt.date(2026, 6, 30)  # a whole closed school year
DEMO_SEED = 1


@dataclass
class DemoContext:
    """What the steps share: where to write, the simulator, the mirror, the summary lines."""

    out: Path
    size: str = "small"
    seed: int = DEMO_SEED
    year_start: int = DEMO_YEAR_START
    as_of: dt.date = DEMO_AS_OF
    classes: tuple[str, ...] = ()  # a sample: documents only for these classes (--classes)
    school: Any = None
    app: Any = None
    server: Any = None
    results: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return self.out / "asurso.db"

    def say(self, line: str) -> None:
        self.lines.append(line)


Step = tuple[str, Callable[[DemoContext], None]]


def step_simulate(ctx: DemoContext) -> None:
    """Build the school and serve it on 127.0.0.1 (a real socket, as a portal would be)."""
    ctx.school = build_school(size=ctx.size, seed=ctx.seed, year_start=ctx.year_start)
    ctx.app = make_app(ctx.school, as_of=ctx.as_of, latency_ms=0)
    ctx.server = serve(ctx.app, host="127.0.0.1", port=0)
    ctx.say(
        f"simulator: {ctx.size}-size school (seed {ctx.seed}) as of {ctx.as_of} at {ctx.server.url}"
    )


def step_sync(ctx: DemoContext) -> None:
    """A full sync of the simulated portal as its administrator."""
    account = next(a for a in ctx.app.accounts if a["role"] == "admin")
    settings = PortalSettings(
        base_url=ctx.server.url, school_id=account.get("school_id"), concurrency=4, timeout_s=30.0
    )
    tz = "Europe/Samara"
    options = SyncOptions(
        full=True,
        timezone=tz,
        today=ctx.as_of,
        now=dt.datetime.combine(ctx.as_of, dt.time(21, 0), ZoneInfo(tz)),
    )
    result = sync_mirror(ctx.db_path, settings, account["login"], account["password"], options)
    ctx.results["sync"] = result
    counts = {t: c["fetched"] for t, c in result.counts.items()}
    ctx.say(
        f"mirror: {ctx.db_path} — {result.journals} journals in {result.seconds:.1f} s; "
        f"{counts.get('classes', 0)} classes, {counts.get('students', 0)} pupils, "
        f"{counts.get('lessons', 0)} lessons, {counts.get('marks', 0)} marks, "
        f"{counts.get('attendance', 0)} absences"
    )


def step_check(ctx: DemoContext) -> None:
    """The regulation's rules over the fresh mirror, as of the demo's date."""
    db = open_mirror(ctx.db_path)
    try:
        result = check(db, parse_rule_settings({}), as_of=ctx.as_of)
    finally:
        db.close()
    ctx.results["check"] = result
    by_severity = Counter(f.severity for f in result.findings)
    ctx.say(
        f"check: {len(result.findings)} findings of {len(result.rules)} rules as of "
        f"{result.as_of} ({by_severity['violation']} violations, "
        f"{by_severity['warning']} warnings, {by_severity['info']} info)"
    )


def _pdf_available() -> bool:
    try:
        load_weasyprint()
    except MissingExtra as exc:
        log.warning("%s", exc)
        return False
    return True


DEMO_KINDS = ("D7", "D1", "D5", "D6", "D8", "D2")  # the longest first
PER_CLASS_KINDS = ("D5", "D7", "D8")


def demo_documents(
    db: Any,
    out_dir: str | os.PathLike[str],
    *,
    fmt: str = "html",
    settings: Any = None,
    workers: int | None = None,
) -> dict[tuple[str, str | None], list[Path]]:
    """The demo's documents: D1, D2 and D6 for the school, D5, D7 and D8 per class, one
    folder per document, the PDFs made in a pool of `workers` processes (default: one per
    CPU). Returns {(kind, class name or None): files} so that the archive can reuse the
    per-class prints instead of rendering them again."""
    workers = workers or os.cpu_count() or 1
    made: dict[tuple[str, str | None], list[Path]] = {}
    for code in DEMO_KINDS:
        folder = Path(out_dir) / f"{code}_{KINDS[code][1]}"
        if code in PER_CLASS_KINDS:
            per_class: dict[str | None, list[Path]] = {}
            render(
                db, code, folder, fmt=fmt, settings=settings, workers=workers, by_class=per_class
            )
            made.update({(code, name): paths for name, paths in per_class.items()})
        else:
            made[(code, None)] = render(
                db, code, folder, fmt=fmt, settings=settings, workers=workers
            )
    return dict(sorted(made.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")))


def step_reports(ctx: DemoContext) -> None:
    """D1, D2, D5, D6, D7 and D8 of the demo school; PDF/A when WeasyPrint is installed."""
    fmt = "pdf" if _pdf_available() else "html"
    folder = ctx.out / "reports"
    if ctx.classes:
        made = class_sample(ctx.db_path, folder, ctx.classes, fmt=fmt)
    else:
        made = demo_documents(ctx.db_path, folder, fmt=fmt)
    ctx.results["reports"] = made
    files = sum(len(paths) for paths in made.values())
    sample = f" for {', '.join(ctx.classes)}" if ctx.classes else ""
    ctx.say(f"reports: {folder} — D1, D2, D5, D6, D7, D8{sample} as {fmt.upper()} ({files} files)")
    if fmt == "html":
        ctx.say("reports: PDF/A and the archive need the pdf extra: pip install 'asurso-sync[pdf]'")


def class_sample(
    db_path: Path, out_dir: Path, classes: tuple[str, ...], *, fmt: str = "html"
) -> dict[tuple[str, str | None], list[Path]]:
    """`demo --classes`: every demo document, but only each named class's copy (and D1 only
    for the class's first teacher with remarks: one teacher's list shows the document)."""
    made: dict[tuple[str, str | None], list[Path]] = {}
    for name in classes:
        db = open_mirror(db_path)
        try:
            row = db.execute(
                "SELECT min(v.teacher_id) FROM violations v JOIN classes c ON c.id = v.class_id "
                "WHERE c.name = ? AND c.deleted_at IS NULL",
                [name],
            ).fetchone()
        finally:
            db.close()
        for code in DEMO_KINDS:
            teacher = str(row[0]) if code == "D1" and row and row[0] else None
            made[(code, name)] = render(
                db_path,
                code,
                out_dir / f"{code}_{KINDS[code][1]}",
                fmt=fmt,
                class_name=name,
                teacher=teacher,
            )
    return made


def demo_archive(
    config_or_store: Config | Path | str,
    db: Any,
    year: str | None = None,
    *,
    renderer: Any = None,
    today: dt.date | None = None,
) -> list[Path]:
    """Archive the demo year: `config_or_store` is a Config or the store folder; `db` the
    mirror (a path or a sqlite-utils Database); `year` defaults to the mirror's latest."""
    if isinstance(db, str | Path):
        mirror = Path(db)
    else:
        mirror = Path(db.execute("PRAGMA database_list").fetchone()[2])
    if isinstance(config_or_store, Config):
        config = config_or_store
    else:
        store = Path(config_or_store).resolve()
        config = Config(
            archive=ArchiveSettings(path=str(store)), mirror=MirrorSettings(path=str(mirror))
        )
    if year is None:
        conn = read_only(mirror)
        try:
            row = conn.execute(
                "SELECT name, start_date FROM years WHERE deleted_at IS NULL "
                "ORDER BY start_date DESC LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            raise ArchiveError("the demo mirror holds no school year")
        year = f"{row['start_date'][:4]}/{int(row['start_date'][:4]) + 1}"
    return create(config, year, renderer=renderer, mirror=mirror, today=today)


def step_archive(ctx: DemoContext) -> None:
    """Seal the demo year into the journal (5-year) and summary (25-year) bags."""
    made = ctx.results.get("reports") or {}
    if not any(p.suffix == ".pdf" for paths in made.values() for p in paths):
        ctx.say("archive: skipped (the archive keeps PDF/A prints: install the pdf extra)")
        return
    store = ctx.out / "archive_store"
    archive = ArchiveSettings(path=str(store))
    if ctx.classes:  # a class sample seals the year without the whole school's term reports
        archive = replace(archive, year_reports=())
    config = Config(archive=archive, mirror=MirrorSettings(path=str(ctx.db_path)))
    cache = RenderCache.for_mirror(ctx.db_path)  # the per-class prints, rendered once
    for (kind, class_name), paths in made.items():
        # the per-class prints only (a --classes sample's D1 is one teacher's list)
        if (
            kind in PER_CLASS_KINDS
            and class_name is not None
            and any(p.suffix == ".pdf" for p in paths)
        ):
            cache.remember(ctx.db_path, kind, paths, fmt="pdf", class_name=class_name)
    bags = demo_archive(config, ctx.db_path, today=ctx.as_of)
    ctx.results["archive"] = bags
    seen = set()
    for row in register_rows(config):
        if row["bag"] in seen:
            continue
        seen.add(row["bag"])
        ctx.say(
            f"archive: {store / row['bag']} — may be destroyed from {row['destroy_from']}; "
            f"tagmanifest SHA-512 {row['digest'][:16]}…"
        )


STEPS: list[Step] = [
    ("simulate", step_simulate),
    ("sync", step_sync),
    ("check", step_check),
    ("reports", step_reports),
    ("archive", step_archive),
    ("web", step_web),  # last: the page's account and the `serve` command
]


def run_demo(
    out: str | os.PathLike[str],
    size: str = "small",
    *,
    steps: list[Step] | None = None,
    as_of: dt.date = DEMO_AS_OF,
    classes: tuple[str, ...] = (),
) -> DemoContext:
    """Run every step in order, logging a line as each starts (`demo 3/5: check (5.2 s so
    far)`; quiet under -q); the simulator is stopped whatever happens."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    if (out / "asurso.db").exists():
        raise AsursoSyncError(f"{out / 'asurso.db'} exists already: choose an empty --out DIR")
    ctx = DemoContext(out=out, size=size, as_of=as_of, classes=tuple(classes))
    try:
        todo = steps or STEPS
        started = time.monotonic()
        for number, (name, func) in enumerate(todo, start=1):
            so_far = time.monotonic() - started
            log.info("demo %d/%d: %s (%.1f s so far)", number, len(todo), name, so_far)
            func(ctx)
    finally:
        if ctx.server is not None:
            ctx.server.shutdown()
    return ctx


def sync_simulator(
    db_path: str | os.PathLike[str],
    school: Any = None,
    as_of: dt.date = dt.date(2026, 5, 20),
    *,
    app: Any = None,
    role: str = "admin",
    full: bool = True,
    since: dt.date | None = None,
    faults: str | None = None,
    latency_ms: int = 0,
    settings: PortalSettings | None = None,
    backoff_s: float = 0.01,
    progress: Progress | None = None,
    accept_deletions: bool = False,
) -> SyncResult:
    """Sync the portal simulator, in process, into `db_path` as the simulated day `as_of`
    (for `demo`, tests and benches; production code never imports the simulator).

    Pass `school` (from `build_school`) or a ready `app` (from `make_app`, or any WSGI wrapper
    of it with `accounts` and `set_as_of`; its clock is moved to `as_of`). The run's own clock
    is the evening of `as_of` in the school's time zone, so the mirror looks as if synced that
    day. `role` picks the simulator account (admin, deputy, teacher, parent, student,
    multirole, warned).
    """
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
    options = SyncOptions(
        full=full,
        since=since,
        timezone=tz,
        today=as_of,
        now=evening,
        accept_deletions=accept_deletions,
    )
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
