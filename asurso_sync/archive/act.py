"""The act of selection for destruction (reference/domain.md §3.2): a draft until approved.

The tool never decides: it lists the bags whose retention (as the register recorded it at
ingest) has ended, with the columns of the federal form, for the archivist and the expert
commission to check, sign and approve. Drafting records the act and one chained `act_draft`
event per bag; `approve_act` (`archive destruction-act --approve N --by NAME`) records the
signature; only then may `archive destroy` remove the bags. The act is rendered through
`documents.output` (the same templates and PDF/A as every other document) and prints the
register's chain head, so the paper copy anchors the register as it was.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import asurso_sync
from asurso_sync.archive.clock import fmt_day, fmt_moment, local_now, local_today
from asurso_sync.archive.layout import (
    ACTS,
    PRIVATE_DIR,
    bag_dirs,
    refuse_inside_store,
    store_lock,
    store_path,
)
from asurso_sync.archive.names import ArchiveError
from asurso_sync.archive.register import (
    chain_head,
    get_act,
    ingest_digest,
    log_event,
    next_act_number,
    open_register,
    save_act,
)
from asurso_sync.archive.settings import archive_settings
from asurso_sync.archive.store import BagEntry, due, nothing_due
from asurso_sync.config import Config
from asurso_sync.documents.output import (
    Doc,
    atomic_write,
    html_to_pdf,
    load_weasyprint,
    render_html,
    template_env,
    templates_root,
)
from asurso_sync.documents.settings import load_report_settings
from asurso_sync.errors import MissingExtra

log = logging.getLogger(__name__)
TEMPLATE = "destruction_act.html"
_KIND_TITLES = {
    "journal": "Электронный журнал (классные журналы в электронном виде, печатные формы, "
    "копия базы данных, выгрузка)",
    "summary": "Сводные ведомости учёта успеваемости",
}


def act_rows(bags: list[BagEntry], article: str, digests: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for i, bag in enumerate(bags, 1):
        years = bag.school_year.split("/")
        retention = {"journal": "5 лет", "summary": "25 лет"}.get(bag.kind, "")
        rc = bag.retention_class
        if rc.endswith("y") and rc.split("-")[-1][:-1].isdigit():
            retention = f"{rc.split('-')[-1][:-1]} лет"
        rows.append(
            {
                "n": i,
                "title": f"{_KIND_TITLES.get(bag.kind, bag.kind)} за {bag.school_year} учебный год",
                "dates": f"{years[0]}–{years[-1]}",
                "inventory": "",
                "index": bag.name,
                "count": 1,
                "retention": retention + (f", {article}" if article else ""),
                "note": f"Хранить до {fmt_day(bag.retain_until)}; SHA-512 tagmanifest: "
                f"{digests.get(bag.name) or '—'}",
            }
        )
    return rows


def render_act_html(
    config: Config,
    number: str,
    on: date,
    bags: list[BagEntry],
    digests: dict[str, str],
    head: str,
) -> str:
    settings = archive_settings(config)
    years = sorted({y for b in bags for y in b.school_year.split("/")})
    organization = (
        next(
            (b.info.get("Source-Organization") for b in bags if b.info.get("Source-Organization")),
            "",
        )
        or settings.source_organization
        or config.portal.school
        or ""
    )
    now = fmt_moment(local_now(config), config)
    context = {
        "title": f"Акт № {number} о выделении к уничтожению документов",
        "subtitle": "проект",
        "school": {"name": organization, "full_name": organization},
        "data_as_of": now,
        "generated_at": now,
        "number": number,
        "on": fmt_day(on),
        "basis": settings.retention_article,
        "rows": act_rows(bags, settings.retention_article, digests),
        "total": len(bags),
        "years": f"{years[0]}–{years[-1]}" if years else "",
        "version": asurso_sync.__version__,
        "chain_head": head,
        "keeper": settings.keeper,
    }
    env = template_env(load_report_settings(config))
    return render_html(env, Doc(f"destruction-act-{_safe(number)}", TEMPLATE, context))


def destruction_act(
    config: Config,
    *,
    on: date | None = None,
    number: str | None = None,
    out_dir: Path | None = None,
    pdf: bool = True,
) -> dict[str, Any]:
    """Record and write the DRAFT act listing every bag due on `on` (school-local today).

    Returns {"number", "bags", "html", "pdf", "chain_head"} (pdf None when WeasyPrint is
    unusable or `pdf` is False). Nothing due is an ArchiveError saying when the first bag is.
    """
    on = on or local_today(config)
    bags = due(config, on)
    if not bags:
        raise ArchiveError(nothing_due(config, on))
    store = store_path(config)
    target = Path(out_dir) if out_dir else store / ACTS
    for folder in bag_dirs(store):
        refuse_inside_store(folder, target, "the folder for the act")
    with store_lock(store):
        register = open_register(store)
        try:
            number = str(number) if number else next_act_number(register)
            if get_act(register, number) is not None:
                raise ArchiveError(f"act № {number} already exists; acts are never rewritten")
            save_act(register, number, on, [b.name for b in bags])
            for bag in bags:
                log_event(
                    register, "act_draft", bag.name, store, True, {"act": number, "on": str(on)}
                )
            digests = {b.name: ingest_digest(register, b.name) or "" for b in bags}
            head = chain_head(register)
        finally:
            register.close()
    html = render_act_html(config, number, on, bags, digests, head)
    target.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    stem = f"destruction-act-{_safe(number)}"
    html_path = atomic_write(target / f"{stem}.html", html.encode("utf-8"))
    pdf_path = _pdf(config, html, target / f"{stem}.pdf") if pdf else None
    return {
        "number": number,
        "bags": [b.name for b in bags],
        "html": html_path,
        "pdf": pdf_path,
        "chain_head": head,
    }


def _safe(number: str) -> str:
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in number)


def _pdf(config: Config, html: str, path: Path) -> Path | None:
    """The act as PDF/A, like every other document (None when WeasyPrint is unusable)."""
    try:
        load_weasyprint()
    except MissingExtra as exc:
        log.warning("PDF skipped (%s); the HTML act is written", exc)
        return None
    variant = load_report_settings(config).pdf_variant
    data = html_to_pdf(html, variant, [], base_url=str(templates_root()))
    return atomic_write(path, data)
