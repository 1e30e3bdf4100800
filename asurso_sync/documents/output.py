"""Templates → HTML, CSV twins and PDF/A files with owner-only modes (the files hold pupils' data)."""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

import asurso_sync
from asurso_sync.documents.settings import ReportSettings
from asurso_sync.errors import MissingExtra

log = logging.getLogger(__name__)
FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass
class Table:
    """One table of a document, written as its CSV twin with the same rows."""

    name: str
    header: list[str]
    rows: list[list[Any]]


@dataclass
class Doc:
    """One output document: file stem, template, its context and the tables behind it."""

    slug: str
    template: str
    context: dict[str, Any]
    tables: list[Table] = field(default_factory=list)


def templates_root() -> Path:
    """Our templates: inside the package in a wheel, next to the package in a source tree."""
    package = Path(asurso_sync.__file__).resolve().parent
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError(f"no templates/ next to {package} (broken install?)")


def template_env(settings: ReportSettings) -> jinja2.Environment:
    """Autoescaped, strict environment; a school's `templates_dir` wins file by file."""
    paths = [str(templates_root())]
    if settings.templates_dir:
        user = Path(settings.templates_dir).expanduser()
        if not user.is_dir():
            from asurso_sync.errors import ConfigError

            raise ConfigError(f"[report] templates_dir {user} is not a folder")
        paths.insert(0, str(user))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def csv_text(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows(["" if v is None else v for v in row] for row in table.rows)
    return buf.getvalue()


def write_private(path: Path, data: bytes) -> Path:
    """Write a file only its owner can read (created 0600, never briefly wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, FILE_MODE)
    return path


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def render_html(env: jinja2.Environment, doc: Doc) -> str:
    return env.get_template(doc.template).render(**doc.context)


def write_doc(
    doc: Doc, out_dir: Path, fmt: str, env: jinja2.Environment, settings: ReportSettings
) -> list[Path]:
    """HTML always, each table's CSV twin, and the PDF/A when `fmt == "pdf"`."""
    html = render_html(env, doc)
    written = [write_private(out_dir / f"{doc.slug}.html", html.encode("utf-8"))]
    twins = []
    for table in doc.tables:
        text = csv_text(table)
        name = f"{doc.slug}.{table.name}.csv"
        written.append(write_private(out_dir / name, ("\ufeff" + text).encode("utf-8")))
        twins.append((name, text))
    if fmt == "pdf":
        pdf = html_to_pdf(html, settings.pdf_variant, twins, base_url=str(templates_root()))
        written.append(write_private(out_dir / f"{doc.slug}.pdf", pdf))
    return written


def load_weasyprint():
    """WeasyPrint, imported only when a PDF is asked for (optional extra `pdf`)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise MissingExtra(
            "PDF output needs WeasyPrint and its Pango libraries: "
            "pip install 'asurso-sync[pdf]' (and apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0), or use --format html ({type(exc).__name__}: {exc})"
        ) from None
    return weasyprint


def html_to_pdf(html: str, variant: str, twins: list[tuple[str, str]], base_url: str) -> bytes:
    """PDF/A-2u or 3u (3u carries the CSV twins as attached files) with embedded fonts."""
    weasyprint = load_weasyprint()
    attachments = []
    if variant == "pdf/a-3u":
        attachments = [
            weasyprint.Attachment(
                string=text.encode("utf-8"),
                name=name,
                description="CSV с теми же строками",
                relationship="Data",
            )
            for name, text in twins
        ]
    document = weasyprint.HTML(string=html, base_url=base_url)
    return document.write_pdf(
        pdf_variant=variant, attachments=attachments or None, uncompressed_pdf=False
    )
