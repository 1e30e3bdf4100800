"""The DRAFT act of selection for destruction (reference/domain.md §3.2), HTML and PDF.

The tool never decides: it lists the bags whose Retain-Until has come, with the columns of the
federal form, for the archivist and the expert commission to check, sign and approve. The
act's number and bag list are kept in the register so `archive destroy` can refuse a bag the
act does not list.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

import asurso_sync
from asurso_sync.archive.names import ArchiveError
from asurso_sync.archive.register import get_act, next_act_number, open_register, save_act
from asurso_sync.archive.settings import archive_settings
from asurso_sync.archive.store import BagEntry, due, store_path
from asurso_sync.config import Config

log = logging.getLogger(__name__)
TEMPLATE = "destruction_act.html"
_KIND_TITLES = {
    "journal": "Электронный журнал (классные журналы в электронном виде, печатные формы, "
    "копия базы данных, выгрузка)",
    "summary": "Сводные ведомости учёта успеваемости",
}


def template_dirs(config: Config) -> list[str]:
    """A school's `[report] templates_dir` first, then ours (source tree or wheel)."""
    package = Path(asurso_sync.__file__).resolve().parent
    dirs = [
        str(p)
        for p in (package / "templates", package.parent / "templates")
        if (p / TEMPLATE).is_file()
    ]
    user = config.section("report").get("templates_dir")
    if user:
        dirs.insert(0, str(config.resolve(str(user))))
    return dirs


def act_rows(bags: list[BagEntry], article: str) -> list[dict[str, Any]]:
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
                "note": f"Хранить до {bag.retain_until:%d.%m.%Y}; SHA-512 tagmanifest: "
                f"{_digest(bag)}",
            }
        )
    return rows


def _digest(bag: BagEntry) -> str:
    from asurso_sync.archive.fixity import file_sha512

    path = bag.path / "tagmanifest-sha512.txt"
    return file_sha512(path) if path.exists() else "—"


def render_act_html(config: Config, number: str, on: date, bags: list[BagEntry]) -> str:
    settings = archive_settings(config)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dirs(config)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
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
    now = datetime.now().astimezone().strftime("%d.%m.%Y %H:%M")
    return env.get_template(TEMPLATE).render(
        title=f"Акт № {number} о выделении к уничтожению документов",
        subtitle="проект",
        school={"name": organization, "full_name": organization},
        data_as_of=now,
        generated_at=now,
        number=number,
        on=on.strftime("%d.%m.%Y"),
        basis=settings.retention_article,
        rows=act_rows(bags, settings.retention_article),
        total=len(bags),
        years=f"{years[0]}–{years[-1]}" if years else "",
        version=asurso_sync.__version__,
    )


def destruction_act(
    config: Config,
    *,
    on: date | None = None,
    number: str | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Write the DRAFT act listing every bag due on `on`; record its number and bag list.

    Returns {"number", "bags", "html", "pdf"} (pdf None when WeasyPrint is unusable).
    """
    on = on or date.today()
    bags = due(config, on)
    if not bags:
        raise ArchiveError(f"no bag is due for destruction on {on.isoformat()}")
    store = store_path(config)
    register = open_register(store)
    try:
        number = str(number) if number else next_act_number(register)
        if get_act(register, number) is not None:
            raise ArchiveError(f"act № {number} already exists; acts are never rewritten")
        html = render_act_html(config, number, on, bags)
        out_dir = Path(out_dir) if out_dir else store / "acts"
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        stem = f"destruction-act-{_safe(number)}"
        html_path = out_dir / f"{stem}.html"
        _write(html_path, html.encode("utf-8"))
        pdf_path = _pdf(html, out_dir / f"{stem}.pdf")
        save_act(register, number, on, [b.name for b in bags])
    finally:
        register.close()
    return {"number": number, "bags": [b.name for b in bags], "html": html_path, "pdf": pdf_path}


def _safe(number: str) -> str:
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in number)


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _pdf(html: str, path: Path) -> Path | None:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        log.warning("PDF skipped (WeasyPrint unusable: %s); the HTML act is written", exc)
        return None
    _write(path, weasyprint.HTML(string=html).write_pdf())
    return path
