"""Documents D1–D10 of the regulation: mirror → context dicts → jinja2 → HTML, CSV, XLSX, PDF/A.

Public API (other areas call these):

* `render(db, kind, out_dir, *, fmt="html", month=None, term=None, week=None, class_name=None,
  teacher=None, settings=None, register_rows=None, register_head=None, progress=None, now=None,
  workers=None, by_class=None) -> list[Path]` — the PDFs of many documents in `workers`
  processes; `by_class` receives {class name: files} (the demo and the archive reuse
  per-class prints). D10 lays out `register_rows` and prints `register_head`, which its
  caller reads from the archive.
* `period_for(db, kind, ...) -> Period` — the period a document will cover and why.
* `record_list_issued(db, teacher_id, period, by, how, note)`, `issued_lists(db, teacher_id)`
  — the D1 lists actually given to a teacher (`documents.issued`).
* `atomic_write(path, data, mode)` and `xlsx_bytes(table)` (`documents.output`),
  `safe_name(text)` (`documents.common`).
* `KINDS` — kind names and aliases; `resolve_kind(kind)` -> "D1".."D10".
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlite_utils import Database

from asurso_sync.documents import (
    activity,
    attendance,
    class_progress,
    filling,
    journal,
    progress,
    register,
    remarks,
    summary_sheet,
)
from asurso_sync.documents.common import Period, ReportError, Request
from asurso_sync.documents.issued import issued_lists, record_list_issued
from asurso_sync.documents.output import (
    Doc,
    atomic_write,
    ensure_dir,
    load_weasyprint,
    pdf_job,
    pdf_path,
    template_env,
    templates_root,
    write_private,
    write_sources,
    xlsx_bytes,
)
from asurso_sync.documents.settings import ReportSettings, load_report_settings
from asurso_sync.mirror.audit import os_user, record_action

log = logging.getLogger(__name__)

# "D1".. -> (module, name used on the command line, Russian title)
KINDS: dict[str, tuple[str, str, str]] = {
    "D1": ("remarks", "remarks", "Список замечаний по ведению ЭЖ"),
    "D2": ("filling", "filling", "Отчёт о заполнении ЭЖ"),
    "D3": ("activity", "activity", "Отчёт об активности пользователей"),
    "D4": ("progress", "progress", "Отчёт об успеваемости и посещаемости ученика"),
    "D5": ("class_progress", "class-progress", "Сводный отчёт об успеваемости класса"),
    "D6": ("attendance", "attendance", "Сводный отчёт о посещаемости класса"),
    "D7": ("journal", "journal", "Печатная версия классного журнала"),
    "D8": ("summary_sheet", "summary-sheet", "Сводная ведомость учёта успеваемости"),
    "D10": ("register", "register", "Реестр архивных документов"),
}
MODULES: dict[str, ModuleType] = {
    "D1": remarks,
    "D2": filling,
    "D3": activity,
    "D4": progress,
    "D5": class_progress,
    "D6": attendance,
    "D7": journal,
    "D8": summary_sheet,
    "D10": register,
}
# The period a document covers when none is asked for (month/week/term: the last complete one).
DEFAULT_PERIOD = {"D1": "month", "D2": "month", "D3": "week", "D4": "term"}
ALIASES = {name: kind for kind, (_, name, _) in KINDS.items()}
Progress = Callable[[int, int], None]  # (documents done, documents in all)

__all__ = [
    "KINDS",
    "Period",
    "ReportError",
    "ReportSettings",
    "atomic_write",
    "issued_lists",
    "period_for",
    "record_list_issued",
    "render",
    "resolve_kind",
    "xlsx_bytes",
]


def resolve_kind(kind: str) -> str:
    """ "d7", "D7" or "journal" -> "D7"; D9 is refused (health data stays in the portal)."""
    key = kind.strip()
    if key.upper() in KINDS:
        return key.upper()
    if key.lower() in ALIASES:
        return ALIASES[key.lower()]
    if key.upper() == "D9" or key.lower() in ("nurse", "health"):
        raise ReportError(
            "D9 (the nurse's class list) is not made by asurso-sync: health "
            "groups are special-category data and stay in the portal (R21 only "
            "checks that they are filled)"
        )
    names = ", ".join(f"{k} ({v[1]})" for k, v in KINDS.items())
    raise ReportError(f"unknown document {kind!r}; choose one of: {names}")


def _settings(settings: Any) -> ReportSettings:
    if settings is None:
        return ReportSettings()
    if isinstance(settings, ReportSettings):
        return settings
    return load_report_settings(settings)  # a Config


def _open(db: Database | str | os.PathLike[str]) -> Database:
    if isinstance(db, Database):
        return db
    path = Path(db)
    if not path.exists():
        raise ReportError(f"the mirror {path} does not exist: run `asurso-sync sync` first")
    return Database(path)


def period_for(
    db: Database | str | os.PathLike[str],
    kind: str,
    *,
    month: str | None = None,
    term: int | None = None,
    week: str | None = None,
    settings: Any = None,
) -> Period:
    """The period document `kind` covers for these options: the one asked for, or its default
    (D1/D2 the last complete month, D3 the last complete week, D4 the last complete term, the
    others the year), with `reason` saying why. A ReportError when it lies outside the year."""
    code = resolve_kind(kind)
    rs = _settings(settings)
    request = Request(month=month, term=term, week=week, tz=rs.timezone)
    return request.period(_open(db), DEFAULT_PERIOD.get(code, "year"))


def render(
    db: Database | str | os.PathLike[str],
    kind: str,
    out_dir: str | os.PathLike[str],
    *,
    fmt: str = "html",
    month: str | None = None,
    term: int | None = None,
    week: str | None = None,
    class_name: str | None = None,
    teacher: str | None = None,
    settings: Any = None,
    register_rows: list[dict] | None = None,
    register_head: str | None = None,
    progress: Progress | None = None,
    now: Any = None,
    workers: int | None = None,
    by_class: dict[str | None, list[Path]] | None = None,
    issued_by: str | None = None,
) -> list[Path]:
    """Render one kind of document into `out_dir`; returns every file written.

    Each document gives `<name>.html`, per table a `<name>.<table>.csv` (UTF-8 with BOM) and a
    `<name>.<table>.xlsx` twin and, with `fmt="pdf"`, `<name>.pdf` (PDF/A; 3u carries the
    CSVs). Every file is written to a temporary name and renamed into place, mode 0600.
    `settings` is a `ReportSettings`, a loaded `Config`, or None for the defaults. D10 lays
    out `register_rows` and prints `register_head`, which its caller reads from the archive
    (`archive.register_rows`, `archive.register_head`).
    `progress(done, total)` is called after each document; `now` fixes the moment of issue;
    `workers` > 1 makes the PDFs in that many processes; `by_class`, when given, receives
    {class name (None for a school-wide document): files}.
    Each D1 list written is recorded as issued to its teacher (`issued_lists`), by `issued_by`
    (the web page's login) or else the operating-system user.
    """
    if fmt not in ("html", "pdf"):
        raise ReportError(f"--format must be html or pdf, not {fmt!r}")
    code = resolve_kind(kind)
    rs = _settings(settings)
    if code == "D10":
        rs = replace(
            rs, register_rows=tuple(register_rows or ()), register_head=register_head or ""
        )
    if fmt == "pdf":
        load_weasyprint()  # fail before any work when the extra is missing
    database = _open(db)
    request = Request(
        month=month,
        term=term,
        week=week,
        class_name=class_name,
        teacher=teacher,
        now=now,
        tz=rs.timezone,
    )
    docs = MODULES[code].build(database, request, rs)
    out = ensure_dir(Path(out_dir))
    made = _write(docs, out, fmt, rs, progress, workers)
    by = issued_by or os_user()
    for doc in docs:
        if doc.issued is not None:
            teacher_id, period_slug = doc.issued
            record_list_issued(database, teacher_id, period_slug, by, "rendered", "")
    written = [p for paths in made for p in paths]
    log.info("rendered %s: %d document(s), %d file(s)", code, len(docs), len(written))
    _audit(
        database,
        f"{code} format={fmt} documents={len(docs)} files={len(written)}"
        + (f" class={class_name}" if class_name else ""),
    )
    if by_class is not None:
        for doc, paths in zip(docs, made, strict=True):
            by_class.setdefault(doc.context.get("class_name"), []).extend(paths)
    return written


def _write(
    docs: list[Doc],
    out: Path,
    fmt: str,
    rs: ReportSettings,
    progress: Progress | None,
    workers: int | None,
) -> list[list[Path]]:
    """Each document's files, in the documents' order. The PDFs — nearly all of the time —
    are made in `workers` processes when there are several (largest first, so that the pool
    ends together); HTML, CSV and XLSX in this process."""
    env = template_env(rs)
    made: list[list[Path]] = []
    jobs = []
    for doc in docs:
        paths, html, twins = write_sources(doc, out, env)
        made.append(paths)
        jobs.append((html, rs.pdf_variant, twins, str(templates_root())))
    if fmt != "pdf":
        for n in range(1, len(docs) + 1):
            if progress is not None:
                progress(n, len(docs))
        return made
    count = min(workers or 1, len(docs))
    if count <= 1:
        for n, (doc, job) in enumerate(zip(docs, jobs, strict=True), 1):
            made[n - 1].append(write_private(pdf_path(doc, out), pdf_job(job)))
            if progress is not None:
                progress(n, len(docs))
        return made
    order = sorted(range(len(docs)), key=lambda i: -len(jobs[i][0]))
    with ProcessPoolExecutor(max_workers=count) as pool:
        futures = {pool.submit(pdf_job, jobs[i]): i for i in order}
        for n, future in enumerate(as_completed(futures), 1):
            i = futures[future]
            made[i].append(write_private(pdf_path(docs[i], out), future.result()))
            if progress is not None:
                progress(n, len(docs))
    return made


def _audit(db: Database, detail: str) -> None:
    """Who rendered what (152-ФЗ ст. 19 ч. 2 п. 8); ids and counts only, never names."""
    record_action(db, "report", detail, commit=True)
