"""D10 — the archive register («реестр», п. 7.5), laid out from the rows its caller gives.

The caller (`report D10`, the demo) reads them from the archive
(`asurso_sync.archive.register_rows(config)`, `register_head(config)`) and passes them to
`render(..., register_rows=..., register_head=...)`: documents never import the archive,
whose bags are made from documents. Dates arrive formatted (school-local); unknown keys are
ignored, missing ones print empty.
"""

from __future__ import annotations

from sqlite_utils import Database

from asurso_sync.documents.common import Request, header
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


def normalise(row: dict, n: int) -> dict:
    out = dict(row)
    out.setdefault("number", n)
    return {key: "" if out.get(key) is None else out.get(key) for key, _ in COLUMNS}


def build(db: Database, req: Request, settings: ReportSettings) -> list[Doc]:
    given = list(settings.register_rows or ())
    items = [normalise(r, i) for i, r in enumerate(given, 1)]
    if req.class_name:
        items = [r for r in items if str(r["class_name"]).lower() == req.class_name.lower()]
    ctx = header(db, settings, "Реестр документов, переданных на архивное хранение")
    ctx.update({"columns": COLUMNS, "items": items, "chain_head": settings.register_head or "—"})
    table = Table("register", [h for _, h in COLUMNS], [[r[k] for k, _ in COLUMNS] for r in items])
    return [Doc("D10_register", "d10_register.html", ctx, [table])]
