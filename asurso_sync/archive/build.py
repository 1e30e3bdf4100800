"""`archive create`: build a year's two bags in staging, validate them, rename them in.

Nothing in the store is ever half-written: each bag is assembled in `<store>/.staging/`
(same filesystem), sealed with bagit-python, validated by it and by our own reader, made
read-only (files 0440, folders 0550) and only then moved in with one atomic `os.rename`.
A run that dies leaves debris only in `.staging/`, which the next run removes.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import bagit
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlite_utils import Database

from asurso_sync import __version__
from asurso_sync.archive import fixity
from asurso_sync.archive.clock import fmt_day, local_day_of, local_today
from asurso_sync.archive.layout import (
    DIR_MODE,
    FILE_MODE,
    STAGING,
    bag_dirs,
    clean_staging,
    fsync_dir,
    read_only,
    remove_tree,
    staged_bags,
    store_lock,
    store_path,
)
from asurso_sync.archive.names import (
    KINDS,
    RETENTION_CLASS,
    ArchiveError,
    SchoolYear,
    bag_name,
    parse_bag_name,
    parse_year,
    retain_until,
    transliterate,
)
from asurso_sync.archive.register import (
    destroyed,
    ingest_record,
    ingest_records,
    log_event,
    open_register,
)
from asurso_sync.archive.settings import archive_settings
from asurso_sync.config import Config
from asurso_sync.documents import resolve_kind
from asurso_sync.documents.cache import RenderCache
from asurso_sync.documents.common import ReportError

log = logging.getLogger(__name__)

Renderer = Callable[..., list[Path]]
# render_many(db, kind, out_dir, class names, **params) -> {class name: files}
RenderMany = Callable[..., dict[str, list[Path]]]
# progress(done, total, what): called after each document and each sealed bag
Progress = Callable[[int, int, str], None]
# (kind passed to the renderer, file stem in the bag) per bag
PRINTS = {
    "journal": (("journal", "journal"),),
    "summary": (("summary-sheet", "summary-sheet"), ("class-progress", "class-progress")),
}
DOC_TITLES = {
    "journal": "Электронный журнал (печатная форма)",
    "summary-sheet": "Сводная ведомость учёта успеваемости",
    "class-progress": "Сводный отчёт об успеваемости класса",
}
RECENT_DELETION_DAYS = 30


@dataclass(frozen=True)
class YearSource:
    """What the year's bags are made of, read once from a consistent copy of the mirror."""

    school_id: int
    organization: str
    year: SchoolYear
    year_id: int
    classes: list[dict[str, Any]]
    first_day: str | None
    last_day: str | None
    terms: int = 0


# ---------------------------------------------------------------- reading the mirror


def backup_mirror(source: Path | sqlite3.Connection, target: Path) -> None:
    """A consistent copy with SQLite's online backup API, checked with integrity_check."""
    if isinstance(source, Path):
        if not source.exists():
            raise ArchiveError(f"the mirror {source} does not exist; run `asurso-sync sync`")
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    else:
        src = source
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        result = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise ArchiveError(f"the mirror copy failed PRAGMA integrity_check: {result[:3]}")
    finally:
        dst.close()
        if isinstance(source, Path):
            src.close()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
    return row.fetchone() is not None


def read_source(conn: sqlite3.Connection, config: Config, year: SchoolYear) -> YearSource:
    """School, year and classes of the archived year from the mirror copy."""
    settings = archive_settings(config)
    school = None
    if _has_table(conn, "schools"):
        school = conn.execute(
            "SELECT id, name, full_name FROM schools WHERE deleted_at IS NULL ORDER BY id LIMIT 1"
        ).fetchone()
    school_id = school["id"] if school else config.portal.school_id
    if school_id is None:
        raise ArchiveError("the mirror has no school and [portal] school_id is not set")
    organization = (
        settings.source_organization
        or (school and (school["full_name"] or school["name"]))
        or config.portal.school
        or f"school {school_id}"
    )
    row = (
        conn.execute(
            "SELECT id, start_date, end_date FROM years WHERE name = ? OR name = ? "
            "OR substr(start_date, 1, 4) = ? ORDER BY (deleted_at IS NOT NULL), id LIMIT 1",
            (year.label, year.label.replace("/", "-"), str(year.start)),
        ).fetchone()
        if _has_table(conn, "years")
        else None
    )
    if row is None:
        raise ArchiveError(f"the mirror holds no school year {year.label}")
    classes = [
        dict(r)
        for r in conn.execute(
            "SELECT id, name FROM classes WHERE year_id = ? AND deleted_at IS NULL", (row["id"],)
        )
    ]
    if not classes:
        raise ArchiveError(f"the mirror holds no classes for {year.label}")
    classes.sort(key=lambda c: _class_order(c["name"]))
    seen: dict[str, str] = {}
    for c in classes:
        c["slug"] = transliterate(c["name"])
        if c["slug"] in seen:
            raise ArchiveError(
                f"classes {seen[c['slug']]!r} and {c['name']!r} share the file name {c['slug']!r}"
            )
        seen[c["slug"]] = c["name"]
    return YearSource(
        school_id=int(school_id),
        organization=str(organization),
        year=year,
        year_id=row["id"],
        classes=classes,
        first_day=row["start_date"],
        last_day=row["end_date"],
        terms=year_terms(conn, row["id"]),
    )


def _class_order(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 99, name)


# ---------------------------------------------------------------- payload writers


def export_tables(conn: sqlite3.Connection, out: Path) -> list[str]:
    """One UTF-8 CSV per table (sorted by primary key), schema.sql and a data dictionary."""
    out.mkdir(parents=True, exist_ok=True)
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    for table in tables:
        info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        columns = [c["name"] for c in info]
        pk = [c["name"] for c in sorted(info, key=lambda c: c["pk"]) if c["pk"]]
        order = ", ".join(f'"{c}"' for c in pk) if pk else "rowid"
        with open(out / f"{transliterate(table)}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}'):
                writer.writerow(
                    ["" if v is None else (v.hex() if isinstance(v, bytes) else v) for v in row]
                )
    schema = [
        r[0] + ";"
        for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type DESC, name"
        )
    ]
    (out / "schema.sql").write_text("\n\n".join(schema) + "\n", encoding="utf-8")
    write_dictionary(conn, tables, out / "data-dictionary.csv")
    return tables


_COLUMN_NOTES = {
    "first_seen_at": "UTC time of the sync that first saw the row",
    "last_seen_at": "UTC time of the last sync that saw the row",
    "first_seen_run": "sync_runs.id that first saw the row",
    "last_seen_run": "sync_runs.id that last saw the row",
    "deleted_at": "UTC time the row vanished from the portal (rows are never dropped)",
    "deleted_run": "sync_runs.id that found the row gone",
    "entered_at": "school-local time the value was entered (see entered_source)",
    "entered_source": "portal = dated by the portal; observed = first seen by a sync; "
    "initial = present at the first import",
    "last_absent_at": "school-local time of the last sync that did not have the row yet",
    "mark": "the portal's value as text (5, н/а)",
    "mark_value": "the mark as an integer when numeric",
    "duty_mark": "1 for a «точка» (a mark owed)",
    "reason": "absence code as the portal shows it",
}
_TABLE_NOTES = {
    "schools": "the school",
    "years": "school years",
    "terms": "reporting periods",
    "classes": "classes of the year",
    "students": "pupils (allow-listed fields only)",
    "teachers": "teachers",
    "subjects": "subjects",
    "subject_groups": "journals (class × subject)",
    "lessons": "lessons with topic and homework",
    "assignments": "assignments of lessons",
    "marks": "current marks",
    "attendance": "absence marks",
    "period_marks": "period marks",
    "plans": "calendar-thematic plans (КТП)",
    "plan_lessons": "planned lessons of a КТП",
    "sync_runs": "runs of the sync",
    "changes": "history of every change the sync saw",
    "violations": "findings of the regulation checks",
}


def write_dictionary(conn: sqlite3.Connection, tables: list[str], path: Path) -> None:
    """table, column, type, key, reference and meaning of every exported column."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["table", "column", "type", "primary_key", "references", "description"])
        for table in tables:
            writer.writerow([table, "", "", "", "", _TABLE_NOTES.get(table, "")])
            refs = {
                r["from"]: f"{r['table']}.{r['to']}"
                for r in conn.execute(f'PRAGMA foreign_key_list("{table}")')
            }
            for c in conn.execute(f'PRAGMA table_info("{table}")'):
                writer.writerow(
                    [
                        table,
                        c["name"],
                        c["type"],
                        c["pk"] or "",
                        refs.get(c["name"], ""),
                        _COLUMN_NOTES.get(c["name"], ""),
                    ]
                )


def write_sync_log(conn: sqlite3.Connection, path: Path) -> int:
    """The mirror's sync runs as JSON lines: when, from where, what server, counts, errors."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = (
        list(conn.execute("SELECT * FROM sync_runs ORDER BY id"))
        if _has_table(conn, "sync_runs")
        else []
    )
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            item = dict(row)
            if isinstance(item.get("counts"), str):
                with contextlib.suppress(ValueError):
                    item["counts"] = json.loads(item["counts"])
            fh.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
    return len(rows)


def _check_report_kinds(kinds: tuple[str, ...] | list[str]) -> None:
    """Fail before any rendering when `[archive] year_reports` names an unknown document."""
    for kind in kinds:
        try:
            resolve_kind(kind)
        except ReportError as exc:
            raise ArchiveError(f"[archive] year_reports: {exc}") from None


def render_into(
    renderer: Renderer,
    db: Any,
    kind: str,
    target: Path,
    stem: str,
    scratch: Path,
    *,
    settings: Any = None,
    allow_empty: bool = False,
    **params: Any,
) -> list[Path]:
    """Render one document and move its PDF (and CSV twins) into the bag under ASCII names.

    The renderer may write `<slug>.html`, `<slug>.<table>.csv` and `<slug>.pdf`; the PDF/A
    is the archival form and the CSVs its machine-readable twins, so those two are kept
    (as `<stem>.pdf`, `<stem>.<table>.csv`) and the HTML, a by-product, is not.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"fmt": "pdf", **{k: v for k, v in params.items() if v is not None}}
    if settings is not None:
        kwargs["settings"] = settings
    produced = [Path(p) for p in renderer(db, kind, scratch, **kwargs)]
    what = kind + "".join(
        f" {k}={v}" for k, v in params.items() if v is not None and k != "workers"
    )
    return place(produced, target, stem, what, allow_empty=allow_empty)


def place(
    produced: list[Path], target: Path, stem: str, what: str, *, allow_empty: bool = False
) -> list[Path]:
    """Move one document's PDF and CSV twins into the bag as `<stem>.pdf`, `<stem>.<table>.csv`
    (ASCII names); the HTML and XLSX by-products stay behind."""
    pdfs = [p for p in produced if p.suffix.lower() == ".pdf"]
    if not pdfs:
        if allow_empty and not produced:
            log.info("no %s document for the archive (nothing to report)", what)
            return []
        raise ArchiveError(f"the renderer made no PDF for {what}")
    target.mkdir(parents=True, exist_ok=True)
    placed = []
    for pdf in pdfs:
        base = stem if len(pdfs) == 1 else f"{stem}-{transliterate(pdf.stem)}"
        for path in produced:
            if path.suffix.lower() not in (".pdf", ".csv") or not path.name.startswith(pdf.stem):
                continue
            rest = path.name[len(pdf.stem) :]
            name = base + ".".join(transliterate(part) if part else "" for part in rest.split("."))
            if (target / name).exists():
                raise ArchiveError(f"two documents would both be stored as {target.name}/{name}")
            shutil.move(str(path), target / name)
            placed.append(target / name)
    return placed


def year_terms(conn: sqlite3.Connection, year_id: int) -> int:
    """How many reporting periods the year has (the year's reports are made per term)."""
    if not _has_table(conn, "terms"):
        return 0
    row = conn.execute(
        "SELECT count(*) FROM terms WHERE year_id = ? AND deleted_at IS NULL", (year_id,)
    ).fetchone()
    return int(row[0])


# ---------------------------------------------------------------- is the year ready?


@dataclass
class Readiness:
    """Why sealing the year now would be wrong (`blockers`: refused unless forced) or worth a
    second look (`deletions`: asked, or accepted with --yes)."""

    year: str
    blockers: list[str] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)


class DeletionsNotConfirmed(ArchiveError):
    """Classes, pupils or groups vanished in the year's last days: the operator must agree."""


def _last_term_end(conn: sqlite3.Connection, source: YearSource) -> date | None:
    ends = []
    if _has_table(conn, "terms"):
        ends = [
            r[0]
            for r in conn.execute(
                "SELECT end_date FROM terms WHERE year_id = ? AND deleted_at IS NULL",
                (source.year_id,),
            )
            if r[0]
        ]
    if not ends and source.last_day:
        ends = [source.last_day]
    return max((date.fromisoformat(e[:10]) for e in ends), default=None)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r["name"] for r in conn.execute(f'PRAGMA table_info("{table}")')}


def _recent_deletions(conn: sqlite3.Connection, source: YearSource, end: date) -> list[str]:
    """Classes, pupils and groups of the year marked deleted in its last 30 days."""
    since = end - timedelta(days=RECENT_DELETION_DAYS)
    window = (since.isoformat(), end.isoformat())
    found = []
    queries = {
        "classes": "SELECT count(*) FROM classes c WHERE c.year_id = ?",
        "pupils": "SELECT count(*) FROM students c WHERE c.class_id IN "
        "(SELECT id FROM classes WHERE year_id = ?)",
        "groups": "SELECT count(*) FROM subject_groups c WHERE c.class_id IN "
        "(SELECT id FROM classes WHERE year_id = ?)",
    }
    tables = {"classes": "classes", "pupils": "students", "groups": "subject_groups"}
    for label, sql in queries.items():
        table = tables[label]
        if not _has_table(conn, table) or not {"deleted_at", "class_id"} & _columns(conn, table):
            continue
        if "deleted_at" not in _columns(conn, table):
            continue
        n = conn.execute(
            sql + " AND substr(c.deleted_at, 1, 10) BETWEEN ? AND ?", (source.year_id, *window)
        ).fetchone()[0]
        if n:
            found.append(f"{n} {label}")
    if not found:
        return []
    return [
        f"{', '.join(found)} of {source.year.label} were marked deleted between "
        f"{fmt_day(since)} and {fmt_day(end)} (the year's last {RECENT_DELETION_DAYS} days); "
        "a portal glitch would seal the year without them"
    ]


def _readiness(
    conn: sqlite3.Connection, source: YearSource, config: Config, today: date
) -> Readiness:
    ready = Readiness(source.year.label)
    end = _last_term_end(conn, source)
    if end is None:
        ready.blockers.append(f"the mirror does not say when {source.year.label} ends")
        return ready
    if today <= end:
        ready.blockers.append(
            f"the last term of {source.year.label} ends on {fmt_day(end)} and today is "
            f"{fmt_day(today)}: the year is not over"
        )
    last_sync = None
    if _has_table(conn, "sync_runs"):
        last_sync = conn.execute(
            "SELECT max(coalesce(finished_at, started_at)) FROM sync_runs WHERE status = 'ok'"
        ).fetchone()[0]
    if last_sync is None:
        ready.blockers.append("the mirror has no successful sync")
    elif local_day_of(last_sync, config) <= end:
        ready.blockers.append(
            f"the last sync ({fmt_day(local_day_of(last_sync, config))}) is not later than "
            f"the end of the last term ({fmt_day(end)}): run `asurso-sync sync` first"
        )
    ready.deletions = _recent_deletions(conn, source, end)
    return ready


def readiness(
    config: Config, year: str | SchoolYear, *, mirror: Path | None = None, today: date | None = None
) -> Readiness:
    """Is the year over and freshly synced, and did anything vanish at its end?"""
    sy = year if isinstance(year, SchoolYear) else parse_year(year)
    path = Path(mirror) if mirror else config.mirror_path
    if not path.exists():
        raise ArchiveError(f"the mirror {path} does not exist; run `asurso-sync sync`")
    conn = read_only(path)
    try:
        return _readiness(conn, read_source(conn, config, sy), config, today or local_today(config))
    finally:
        conn.close()


# ---------------------------------------------------------------- sealing


def bag_info(
    source: YearSource, kind: str, name: str, config: Config, supersedes: str | None
) -> dict[str, str]:
    s = archive_settings(config)
    info = {
        "Source-Organization": source.organization,
        "External-Identifier": name,
        "Bag-Group-Identifier": f"ej-{source.school_id}-{source.year.slug}",
        "School-Year": source.year.label,
        "Retention-Class": RETENTION_CLASS[kind],
        "Retain-Until": _retain_until(source.year, kind, config).isoformat(),
        "Bag-Software-Agent": f"asurso-sync {__version__} (bagit.py {bagit.VERSION})",
        "Internal-Sender-Description": (
            "Электронный журнал: печатные формы по классам, отчёты за год, копия базы, выгрузка"
            if kind == "journal"
            else "Сводные ведомости учёта успеваемости и сводные отчёты об успеваемости по классам"
        )
        + f", {source.year.label} учебный год",
    }
    if s.retention_article:
        info["Retention-Article"] = s.retention_article
    if supersedes:
        info["Supersedes"] = supersedes
    return info


def _retain_until(year: SchoolYear, kind: str, config: Config) -> date:
    s = archive_settings(config)
    return retain_until(year, kind, journal_years=s.journal_years, summary_years=s.summary_years)


def write_tagmanifests(bag: Path) -> None:
    """tagmanifest-sha512/-sha256 over every tag file (after bagit.txt became BagIt 1.0)."""
    tag_files = sorted(
        p.relative_to(bag).as_posix()
        for p in bag.rglob("*")
        if p.is_file()
        and not p.relative_to(bag).as_posix().startswith("data/")
        and not p.name.startswith("tagmanifest-")
    )
    digests = {name: fixity.hash_file(bag / name)[0] for name in tag_files}
    for alg in fixity.ALGORITHMS:
        lines = "".join(f"{digests[name][alg]}  {name}\n" for name in tag_files)
        (bag / f"tagmanifest-{alg}.txt").write_text(lines, encoding="utf-8")


def seal(folder: Path, info: dict[str, str]) -> None:
    """Turn a staged payload folder into a BagIt 1.0 bag and prove it valid twice."""
    bagit.make_bag(str(folder), dict(info), processes=1, checksums=["sha512", "sha256"])
    (folder / "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8"
    )
    write_tagmanifests(folder)
    try:
        bagit.Bag(str(folder)).validate(processes=1)
    except bagit.BagError as exc:
        raise ArchiveError(f"the new bag {folder.name} failed bagit validation: {exc}") from None
    result = fixity.verify_bag(folder, full=True)
    if not result.ok:
        raise ArchiveError(
            f"the new bag {folder.name} failed verification: "
            + "; ".join(map(str, result.problems))
        )


def freeze(path: Path) -> None:
    """Files 0440, folders 0550: the sealed bag is read-only for everyone."""
    for dirpath, dirs, files in os.walk(path, topdown=False):
        for name in files:
            p = Path(dirpath, name)
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
            os.chmod(p, FILE_MODE)
        for name in dirs:
            os.chmod(Path(dirpath, name), DIR_MODE)
    os.chmod(path, DIR_MODE)


def _pages(path: Path) -> int | None:
    """Sheets of a printed document (None when it is no readable PDF)."""
    try:
        return len(PdfReader(str(path)).pages)
    except (PdfReadError, ValueError, OSError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------- the command


def _plan(
    store: Path,
    conn_register: sqlite3.Connection,
    school_id: int,
    year: SchoolYear,
    supersedes: list[str],
) -> list[tuple[str, int, str | None]]:
    """(kind, version, superseded bag) of each bag to make now."""
    known = {p.name for p in bag_dirs(store)}
    known |= set(ingest_records(conn_register))
    parsed = [
        b
        for b in (parse_bag_name(n) for n in known)
        if b and b.school_id == school_id and b.year == year
    ]
    top = {kind: max((b.version for b in parsed if b.kind == kind), default=0) for kind in KINDS}
    plan: list[tuple[str, int, str | None]] = []
    if not supersedes:
        plan = [(kind, 1, None) for kind in KINDS if top[kind] == 0]
        if not plan:
            names = ", ".join(sorted(b.name for b in parsed))
            raise ArchiveError(
                f"{year.label} is already archived ({names}); a correction is "
                "a new version: add --supersedes BAG"
            )
        return plan
    for old in supersedes:
        parsed_old = parse_bag_name(old)
        if parsed_old is None or not (store / old).is_dir():
            raise ArchiveError(f"--supersedes {old}: no such bag in {store}")
        if parsed_old.year != year or parsed_old.school_id != school_id:
            raise ArchiveError(f"--supersedes {old}: that bag is not of {year.label}")
        if any(kind == parsed_old.kind for kind, _, _ in plan):
            raise ArchiveError(f"--supersedes names two {parsed_old.kind} bags")
        plan.append((parsed_old.kind, top[parsed_old.kind] + 1, old))
    return plan


def recover_interrupted(store: Path, register: sqlite3.Connection) -> None:
    """A run killed between logging a bag's ingest and moving it in left the bag in staging:
    its ingest record no longer stands (an appended `ingest_cancelled`, the register being
    append-only), so the bag can be made again. A `destroy` killed between moving a bag out
    of the store and logging it left the whole bag in staging: it goes back into the store."""
    gone = destroyed(register)
    for run in staged_bags(store):
        if not run.is_dir():
            continue
        if run.name.startswith("destroy-") and parse_bag_name(run.name[len("destroy-") :]):
            bag = run.name[len("destroy-") :]
            if bag not in gone and not (store / bag).exists():
                # killed between moving the bag out and logging its destruction: put it back
                os.rename(run, store / bag)
                log.warning("%s was being destroyed when a run stopped; it is back", bag)
            continue
        for folder in run.iterdir():
            if (
                parse_bag_name(folder.name)
                and not (store / folder.name).exists()
                and ingest_record(register, folder.name) is not None
            ):
                log_event(
                    register,
                    "ingest_cancelled",
                    folder.name,
                    store,
                    True,
                    {"reason": "the run was interrupted before the bag entered the store"},
                )


def create(
    config: Config,
    year: str | SchoolYear,
    *,
    supersedes: list[str] | tuple[str, ...] = (),
    renderer: Renderer | None = None,
    mirror: Path | None = None,
    today: date | None = None,
    force: bool = False,
    accept_deletions: bool = False,
    progress: Progress | None = None,
) -> list[Path]:
    """Make the year's sealed bags (journal-5y and summary-25y) and log their ingest.

    `renderer(db, kind, out_dir, *, fmt="pdf", class_name=None, settings=config, term=None)
    -> list[Path]` writes one document (default: `documents.render` through the mirror's
    render cache, so a print `report` or `demo` made from the same mirror state is reused,
    byte for byte, instead of being rendered again). `mirror`
    overrides `[mirror] path`. Without `supersedes` it makes the kinds the year lacks (both,
    the first time); `supersedes` names bags to correct, each getting a v<N+1>.

    Refuses a year that is not over or not synced since its end unless `force`, and a year
    whose classes, pupils or groups vanished in its last 30 days unless `accept_deletions`
    (see `readiness`). Each bag's ingest record is written before the bag is renamed into
    the store, so no bag is ever in the store without one. Returns the new bags' paths.
    """
    settings = archive_settings(config)
    sy = year if isinstance(year, SchoolYear) else parse_year(year)
    store = store_path(config)
    mirror = Path(mirror) if mirror else config.mirror_path
    if not mirror.exists():
        raise ArchiveError(f"the mirror {mirror} does not exist; run `asurso-sync sync`")
    store.mkdir(parents=True, exist_ok=True)
    os.chmod(store, 0o700)
    if not settings.retention_article:
        log.warning("[archive] retention_article is not set: bags carry no Retention-Article")
    cache = RenderCache.for_mirror(mirror)
    render = renderer or cache.render
    render_many = cache.render_classes if renderer is None else None
    if renderer is None:
        _check_report_kinds(settings.year_reports)
    with store_lock(store):
        register = open_register(store)
        try:
            recover_interrupted(store, register)
            clean_staging(store)
            live = read_only(mirror)
            try:  # refuse early, before copying a large mirror
                first = read_source(live, config, sy)
                ready = _readiness(live, first, config, today or local_today(config))
            finally:
                live.close()
            if ready.blockers and not force:
                raise ArchiveError(
                    f"not sealing {sy.label}: " + "; ".join(ready.blockers) + " (--force to seal)"
                )
            if ready.deletions and not accept_deletions:
                raise DeletionsNotConfirmed(
                    "; ".join(ready.deletions) + " — check the portal, then confirm with --yes"
                )
            plan = _plan(store, register, first.school_id, sy, list(supersedes))
            work = store / STAGING / f"run-{os.getpid()}"
            work.mkdir(mode=0o700, parents=True)
            try:
                built, source = _build(
                    work, mirror, config, sy, plan, render, today, progress, render_many
                )
                made = _move_in(store, register, built, source, config)
            except OSError as exc:  # a full disk, a read-only mount: one plain line
                raise ArchiveError(
                    f"could not build the bags in {work.parent}: {exc.strerror or exc}"
                    + (f" ({exc.filename})" if exc.filename else "")
                ) from None
            finally:
                remove_tree(work)
        finally:
            register.close()
    return made


def _steps(source: YearSource, plan: list[tuple[str, int, str | None]], config: Config) -> int:
    settings = archive_settings(config)
    total = 0
    for kind, _version, _old in plan:
        total += len(source.classes) * len(PRINTS[kind]) + 1
        if kind == "journal":
            total += len(settings.year_reports) * source.terms
    return total


def _build(
    work: Path,
    mirror: Path,
    config: Config,
    sy: SchoolYear,
    plan: list[tuple[str, int, str | None]],
    render: Renderer,
    today: date | None,
    progress: Progress | None,
    render_many: RenderMany | None = None,
) -> tuple[list[tuple[str, Path, str | None]], YearSource]:
    """Every planned bag, sealed and frozen in `work`, from one consistent mirror copy."""
    snapshot = work / "mirror.sqlite"
    backup_mirror(mirror, snapshot)
    conn = read_only(snapshot)
    db = Database(read_only(snapshot))
    try:
        source = read_source(conn, config, sy)
        total = _steps(source, plan, config)
        done = 0

        def tick(what: str) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total, what)

        built = []
        for kind, version, old in plan:
            name = bag_name(source.school_id, sy, kind, version)
            folder = work / name
            folder.mkdir(mode=0o700)
            log.info("building %s (%d classes)", name, len(source.classes))
            _render_prints(
                folder, db, render, source, work, config, PRINTS[kind], tick, render_many
            )
            if kind == "journal":
                workers = os.cpu_count() if render_many is not None else None
                _journal_extras(
                    folder, conn, snapshot, db, render, source, work, config, tick, workers
                )
            info = bag_info(source, kind, name, config, old)
            if today is not None:
                info["Bagging-Date"] = today.isoformat()
            seal(folder, info)
            freeze(folder)
            tick(f"sealed {name}")
            built.append((name, folder, old))
        return built, source
    finally:
        db.conn.close()
        conn.close()


def _ingest_details(
    name: str, folder: Path, old: str | None, source: YearSource, config: Config
) -> dict[str, Any]:
    """What the register keeps of a new bag: its anchor digest and retention (the authority
    for `due` and `destroy`), and its documents with their sheets (for D10)."""
    parsed = parse_bag_name(name)
    assert parsed is not None
    classes = {c["slug"]: c["name"] for c in source.classes}
    documents = [
        {
            "class": classes.get(pdf.parent.name, pdf.parent.name),
            "kind": DOC_TITLES.get(pdf.stem, pdf.stem),
            "file": pdf.relative_to(folder).as_posix(),
            "sheets": _pages(pdf),
        }
        for pdf in sorted((folder / "data" / "print").glob("*/*.pdf"))
    ]
    documents.sort(key=lambda d: (_class_order(str(d["class"])), str(d["file"])))
    return {
        "tagmanifest_sha512": fixity.file_sha512(folder / "tagmanifest-sha512.txt"),
        "payload_oxum": fixity.read_tags(folder / "bag-info.txt").get("Payload-Oxum", ""),
        "supersedes": old,
        "validated": "bagit+full",
        "kind": parsed.kind,
        "school_year": source.year.label,
        "organization": source.organization,
        "retention_class": RETENTION_CLASS[parsed.kind],
        "retain_until": _retain_until(source.year, parsed.kind, config).isoformat(),
        "retention_article": archive_settings(config).retention_article,
        "classes": classes,
        "documents": documents,
    }


def _move_in(
    store: Path,
    register: sqlite3.Connection,
    built: list[tuple[str, Path, str | None]],
    source: YearSource,
    config: Config,
) -> list[Path]:
    """Log each sealed bag's ingest, then rename it into the store (whole, or not at all).

    The record comes first: a kill between the two leaves a bag in staging whose record the
    next run cancels, never a bag in the store without a record. A failed rename cancels
    the record at once.
    """
    clash = [name for name, _folder, _old in built if (store / name).exists()]
    if clash:
        raise ArchiveError(f"{', '.join(clash)} appeared in the store meanwhile; nothing replaced")
    made = []
    for name, folder, old in built:
        details = _ingest_details(name, folder, old, source, config)
        log_event(register, "ingest", name, store, True, details)
        try:
            os.rename(folder, store / name)
        except OSError as exc:
            log_event(
                register, "ingest_cancelled", name, store, True, {"reason": f"move failed: {exc}"}
            )
            raise ArchiveError(f"could not move {name} into {store}: {exc}") from None
        fsync_dir(store)
        log.info("sealed %s (Payload-Oxum %s)", name, details["payload_oxum"])
        made.append(store / name)
    return made


def _render_prints(
    folder: Path,
    db: Database,
    render: Renderer,
    source: YearSource,
    work: Path,
    config: Config,
    prints: tuple[tuple[str, str], ...],
    tick: Callable[[str], None],
    render_many: RenderMany | None = None,
) -> None:
    """Each class's printed documents into `data/print/<class>/` (the one render loop).

    With `render_many` (the default renderer's cache) each kind is made for every class at
    once, the PDFs in a pool of processes; otherwise one document per call of `render`."""
    for kind, stem in prints:
        names = [cls["name"] for cls in source.classes]
        if render_many is not None:
            scratch = work / "render" / kind
            made = render_many(db, kind, scratch, names, fmt="pdf", settings=config)
        for cls in source.classes:
            target = folder / "print" / cls["slug"]
            if render_many is not None:
                place(made.get(cls["name"], []), target, stem, f"{kind} class_name={cls['name']}")
            else:
                render_into(
                    render,
                    db,
                    kind,
                    target,
                    stem,
                    work / "render" / kind / cls["slug"],
                    settings=config,
                    class_name=cls["name"],
                )
            tick(f"{kind} {cls['name']}")


def _journal_extras(
    folder: Path,
    conn: sqlite3.Connection,
    snapshot: Path,
    db: Database,
    render: Renderer,
    source: YearSource,
    work: Path,
    config: Config,
    tick: Callable[[str], None],
    workers: int | None = None,
) -> None:
    """The journal bag's year reports (one per term; with `workers`, the default renderer
    makes their PDFs in that many processes), database copy, export and sync log."""
    settings = archive_settings(config)
    for kind in settings.year_reports:
        for term in range(1, source.terms + 1):
            name = f"{transliterate(kind)}-term{term}"
            render_into(
                render,
                db,
                kind,
                folder / "reports",
                name,
                work / "render" / "reports" / name,
                settings=config,
                term=term,
                allow_empty=True,
                workers=workers,
            )
            tick(f"{kind} term {term}")
    (folder / "db").mkdir()
    shutil.copyfile(snapshot, folder / "db" / "mirror.sqlite")
    export_tables(conn, folder / "export")
    write_sync_log(conn, folder / "provenance" / "sync-log.jsonl")
