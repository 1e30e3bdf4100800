"""Documents D1–D10 of the regulation: mirror → context dicts → jinja2 → HTML, CSV, PDF/A.

Public API (other areas call these):

* `render(db, kind, out_dir, *, fmt="html", month=None, term=None, week=None, class_name=None,
  teacher=None, settings=None, register_rows=None, register_head=None) -> list[Path]`
* `render_classes(db_path, kind, out_dir, *, fmt, classes=None, workers=None)` — one document
  per class in a process pool -> {class name: files}.
* `demo_step(db_path, out_dir, *, fmt="html")` — D1, D2, D5, D6, D7, D8 of the demo school.
* `KINDS` — kind names and aliases; `resolve_kind(kind)` -> "D1".."D10".
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from asurso_sync.documents.common import ReportError, Request
from asurso_sync.documents.settings import ReportSettings, load_report_settings

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
ALIASES = {name: kind for kind, (_, name, _) in KINDS.items()}
DEMO_KINDS = ("D1", "D2", "D5", "D6", "D7", "D8")

__all__ = [
    "KINDS",
    "ReportError",
    "ReportSettings",
    "class_names",
    "demo_step",
    "render",
    "render_classes",
    "resolve_kind",
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
) -> list[Path]:
    """Render one kind of document into `out_dir`; returns every file written.

    Each document gives `<slug>.html`, one `<slug>.<table>.csv` per table and, with
    `fmt="pdf"`, `<slug>.pdf` (PDF/A; 3u carries the CSVs). `settings` is a `ReportSettings`,
    a loaded `Config`, or None for the defaults. D10 lays out `register_rows` and prints
    `register_head`, which its caller reads from the archive (`archive.register_rows`,
    `archive.register_head`).
    """
    from asurso_sync.documents.output import ensure_dir, template_env, write_doc

    if fmt not in ("html", "pdf"):
        raise ReportError(f"--format must be html or pdf, not {fmt!r}")
    code = resolve_kind(kind)
    rs = _settings(settings)
    if code == "D10":
        rs = replace(
            rs, register_rows=tuple(register_rows or ()), register_head=register_head or ""
        )
    if fmt == "pdf":
        from asurso_sync.documents.output import load_weasyprint

        load_weasyprint()  # fail before any work when the extra is missing
    database = _open(db)
    module = importlib.import_module(f"asurso_sync.documents.{KINDS[code][0]}")
    request = Request(month=month, term=term, week=week, class_name=class_name, teacher=teacher)
    docs = module.build(database, request, rs)
    out = ensure_dir(Path(out_dir))
    env = template_env(rs)
    written: list[Path] = []
    for doc in docs:
        written.extend(write_doc(doc, out, fmt, env, rs))
    log.info("rendered %s: %d document(s), %d file(s)", code, len(docs), len(written))
    _audit(
        database,
        f"{code} format={fmt} documents={len(docs)} files={len(written)}"
        + (f" class={class_name}" if class_name else ""),
    )
    return written


def _audit(db: Database, detail: str) -> None:
    """Who rendered what (152-ФЗ ст. 19 ч. 2 п. 8); ids and counts only, never names."""
    from asurso_sync.mirror.audit import record_action

    record_action(db, "report", detail, commit=True)


PER_CLASS_KINDS = ("D5", "D7", "D8")


def class_names(db: Database | str | os.PathLike[str]) -> list[str]:
    """The year's classes in school order (1а, 1б, …, 11б)."""
    database = _open(db)
    return [
        r[0]
        for r in database.execute(
            "SELECT name FROM classes WHERE deleted_at IS NULL "
            "ORDER BY CAST(grade AS INTEGER), letter, name"
        )
    ]


def _render_one(args: tuple[Any, str, str, str, str, Any]) -> tuple[str, list[str]]:
    mirror, code, out_dir, fmt, class_name, settings = args
    paths = render(mirror, code, out_dir, fmt=fmt, class_name=class_name, settings=settings)
    return class_name, [str(p) for p in paths]


def render_classes(
    db: Database | str | os.PathLike[str],
    kind: str,
    out_dir: str | os.PathLike[str],
    *,
    fmt: str = "html",
    classes: list[str] | None = None,
    settings: Any = None,
    workers: int | None = None,
) -> dict[str, list[Path]]:
    """One document per class, rendered in a pool of processes (WeasyPrint's layout is
    CPU-bound and single-threaded, so this is what makes a whole school's D7 take minutes,
    not a quarter of an hour). An open Database (e.g. in memory) is rendered in this process.
    Returns {class name: files written}."""
    from concurrent.futures import ProcessPoolExecutor

    code = resolve_kind(kind)
    names = classes if classes is not None else class_names(db)
    in_process = isinstance(db, Database)
    source = db if in_process else str(db)
    jobs = [(source, code, str(out_dir), fmt, name, settings) for name in names]
    workers = 1 if in_process else (workers or min(len(jobs), os.cpu_count() or 1) or 1)
    if workers == 1 or len(jobs) <= 1:
        results = [_render_one(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_render_one, jobs))
    return {name: [Path(p) for p in paths] for name, paths in results}


def demo_step(
    db: Database | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    fmt: str = "html",
    settings: Any = None,
) -> dict[tuple[str, str | None], list[Path]]:
    """The demo's documents: D1, D2 and D6 for the school, D5, D7 and D8 per class, one
    folder per document. Returns {(kind, class name or None): files} so that the archive
    can reuse the per-class prints instead of rendering them again."""
    made: dict[tuple[str, str | None], list[Path]] = {}
    for code in DEMO_KINDS:
        folder = Path(out_dir) / f"{code}_{KINDS[code][1]}"
        if code in PER_CLASS_KINDS:
            per_class = render_classes(db, code, folder, fmt=fmt, settings=settings)
            made.update({(code, name): paths for name, paths in per_class.items()})
        else:
            made[(code, None)] = render(db, code, folder, fmt=fmt, settings=settings)
    return made
