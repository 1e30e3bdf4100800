"""Templates → HTML, CSV twins and PDF/A files with owner-only modes (the files hold pupils' data)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import openpyxl
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

import asurso_sync
from asurso_sync.documents.common import safe_name
from asurso_sync.documents.settings import ReportSettings
from asurso_sync.errors import ConfigError, MissingExtra
from asurso_sync.rules.output import spreadsheet_safe

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
    """One output document: file stem, template, its context and the tables behind it.
    `issued` is (teacher id, period slug) for a D1 list: writing it records the list as issued."""

    slug: str
    template: str
    context: dict[str, Any]
    tables: list[Table] = field(default_factory=list)
    issued: tuple[int, str] | None = None


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
    """The table as CSV (header row first); text that a spreadsheet would run as a formula
    gets a leading `'` (`spreadsheet_safe`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(v) for v in table.header])
    writer.writerows([spreadsheet_safe(v) for v in row] for row in table.rows)
    return buf.getvalue()


_RU_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")
_RU_DATETIME = re.compile(r"(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2})")
_NUMBER = re.compile(r"-?\d{1,15}(?:,\d+)?")


def typed(value: Any) -> Any:
    """A table value as a spreadsheet cell: numbers as numbers, `01.09.2025` as a date,
    `02.12.2026 02:16` as a date-time, «66,7» as 66.7; any other text stays text."""
    if value is None or isinstance(value, bool):
        return "" if value is None else value
    if isinstance(value, int | float | dt.date):
        return value
    text = str(value)
    m = _RU_DATETIME.fullmatch(text)
    if m:
        d, mo, y, h, mi = (int(g) for g in m.groups())
        return dt.datetime(y, mo, d, h, mi)
    m = _RU_DATE.fullmatch(text)
    if m:
        d, mo, y = (int(g) for g in m.groups())
        try:
            return dt.date(y, mo, d)
        except ValueError:
            return text
    if _NUMBER.fullmatch(text) and not (len(text) > 1 and text.lstrip("-").startswith("0")):
        return float(text.replace(",", ".")) if "," in text else int(text)
    return spreadsheet_safe(text)


def xlsx_bytes(table: Table, title: str = "") -> bytes:
    """The table as an .xlsx workbook: a bold header row, frozen under it, typed cells
    (dates as dates), column widths from the content, and an auto-filter."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = (safe_name(table.name) or "table")[:31]
    if title:
        book.properties.title = title
    book.properties.creator = f"asurso-sync {asurso_sync.__version__}"
    sheet.append([str(h) for h in table.header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [len(str(h)) for h in table.header]
    for row in table.rows:
        values = [typed(v) for v in row]
        sheet.append(values)
        for i, v in enumerate(values[: len(widths)]):
            widths[i] = max(widths[i], 10 if isinstance(v, dt.date) else len(str(v)))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "DD.MM.YYYY HH:MM"
            elif isinstance(cell.value, dt.date):
                cell.number_format = "DD.MM.YYYY"
    for i, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(i)].width = min(max(width, 4) + 2, 60)
    sheet.freeze_panes = "A2"
    if table.rows:
        sheet.auto_filter.ref = sheet.dimensions
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int = FILE_MODE) -> Path:
    """Write `data` to `path` through a temporary file in the same folder, then rename it
    into place: a full disk or a crash leaves the old file (or none), never half of one.
    The file is created with `mode` (0600 by default), never briefly wider."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def write_private(path: Path, data: bytes) -> Path:
    """Write a file only its owner can read (0600), atomically."""
    return atomic_write(path, data, FILE_MODE)


def ensure_dir(path: Path) -> Path:
    """The folder, created 0700 with any missing parents; folders that exist already keep
    their modes (a shared 1777 folder keeps its sticky bit, `-o .` leaves `.` alone)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
            os.chmod(folder, DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    return path


def render_html(env: jinja2.Environment, doc: Doc) -> str:
    return env.get_template(doc.template).render(**doc.context)


def write_sources(
    doc: Doc, out_dir: Path, env: jinja2.Environment
) -> tuple[list[Path], str, list[tuple[str, str]]]:
    """The document's HTML and each table's CSV and XLSX twins; returns the files written,
    the HTML and the CSV texts the PDF/A-3u attaches (named by table)."""
    html = render_html(env, doc)
    slug = safe_name(doc.slug)
    written = [write_private(out_dir / f"{slug}.html", html.encode("utf-8"))]
    twins = []
    title = str(doc.context.get("title", ""))
    for table in doc.tables:
        text = csv_text(table)
        name = f"{slug}.{table.name}.csv"
        written.append(write_private(out_dir / name, ("\ufeff" + text).encode("utf-8")))
        twins.append((f"{table.name}.csv", text))  # inside the PDF: an ASCII name per table
        xlsx = out_dir / f"{slug}.{table.name}.xlsx"
        written.append(write_private(xlsx, xlsx_bytes(table, title)))
    return written, html, twins


def pdf_path(doc: Doc, out_dir: Path) -> Path:
    return out_dir / f"{safe_name(doc.slug)}.pdf"


def write_doc(
    doc: Doc, out_dir: Path, fmt: str, env: jinja2.Environment, settings: ReportSettings
) -> list[Path]:
    """HTML always, each table's CSV and XLSX twins, and the PDF/A when `fmt == "pdf"`."""
    written, html, twins = write_sources(doc, out_dir, env)
    if fmt == "pdf":
        pdf = html_to_pdf(html, settings.pdf_variant, twins, base_url=str(templates_root()))
        written.append(write_private(pdf_path(doc, out_dir), pdf))
    return written


def pdf_job(job: tuple[str, str, list[tuple[str, str]], str]) -> bytes:
    """`html_to_pdf` over one tuple (html, variant, twins, base_url): what a pool worker runs."""
    return html_to_pdf(*job)


class _FontToolsNotice(logging.Filter):
    """WeasyPrint warns «Using fontTools instead of HarfBuzz-Subset» once per font and page;
    say it once per process instead, as an info line (so `-q` hides it), with the fix."""

    said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "instead of HarfBuzz-Subset" not in str(record.msg):
            return True
        if not _FontToolsNotice.said:
            _FontToolsNotice.said = True
            log.info(
                "PDF fonts are subset with fontTools (slower): install the HarfBuzz subset "
                "library (Debian/Ubuntu: apt-get install libharfbuzz-subset0)"
            )
        return False


_WEASYPRINT_LOG = logging.getLogger("weasyprint")
_WEASYPRINT_LOG.addFilter(_FontToolsNotice())


def load_weasyprint() -> Any:
    """WeasyPrint, imported only when a PDF is asked for: it is the optional extra `pdf`
    (and its import alone takes a second), so this is the one import made on demand."""
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
