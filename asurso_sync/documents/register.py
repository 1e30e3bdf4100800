"""D10 — the archive register («реестр», п. 7.5), rendered from the rows the archive gives.

The rows come from `asurso_sync.archive.register_rows(config)` (or are passed to `render`);
this module only lays them out. Unknown keys are ignored, missing ones print empty.
"""

from __future__ import annotations

from sqlite_utils import Database

from asurso_sync.documents.common import Request, fmt_date, header
from asurso_sync.documents.output import Doc, Table
from asurso_sync.documents.settings import ReportSettings

# (key in the archive's rows, column heading)
COLUMNS = [
    ("number", "№"),
    ("class_name", "Класс"),
    ("year", "Учебный год / период"),
    ("kind", "Вид документа"),
    ("sheets", "Листов"),
    ("transferred_on", "Дата передачи"),
    ("transferred_by", "Кем передано / принято"),
    ("location", "Место хранения"),
    ("retention", "Срок хранения, статья перечня"),
    ("destroy_from", "Уничтожение возможно с"),
    ("act_number", "№ акта об уничтожении"),
    ("digest", "SHA-512 электронной копии"),
    ("bag", "Пакет"),
]
# The archive's keys (`asurso_sync.archive.store.REGISTER_COLUMNS`) -> ours.
ALIASES = {
    "class": "class_name",
    "school_year": "year",
    "document_kind": "kind",
    "transfer_date": "transferred_on",
    "storage_location": "location",
    "digest_sha512": "digest",
    "sha512": "digest",
    "tagmanifest_sha512": "digest",
    "retain_until": "destroy_from",
}
DATE_KEYS = ("transferred_on", "destroy_from")


def normalise(row: dict, n: int) -> dict:
    out = {ALIASES.get(k, k): v for k, v in row.items()}
    out.setdefault("number", n)
    for key in DATE_KEYS:
        value = out.get(key)
        if isinstance(value, str) and len(value) >= 10 and value[4] == "-":
            out[key] = fmt_date(value)
    return {key: "" if out.get(key) is None else out.get(key) for key, _ in COLUMNS}


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    given = list(settings.register_rows or ())
    items = [normalise(r, i) for i, r in enumerate(given, 1)]
    if req.class_name:
        items = [r for r in items if str(r["class_name"]).lower() == req.class_name.lower()]
    ctx = header(db, settings, "Реестр документов, переданных на архивное хранение")
    ctx.update({"columns": COLUMNS, "items": items})
    table = Table("register", [h for _, h in COLUMNS], [[r[k] for k, _ in COLUMNS] for r in items])
    return [Doc("D10_register", "d10_register.html", ctx, [table])]
