"""Документы: every rendered document by kind and period, with people's and classes' names;
download PDF/HTML/CSV; «сформировать» renders in the background with a progress bar."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from asurso_sync import documents
from asurso_sync.documents import KINDS
from asurso_sync.documents.common import class_slug, classes, person_slug, terms
from asurso_sync.documents.output import load_weasyprint
from asurso_sync.errors import AsursoSyncError
from asurso_sync.web.core import (
    NO_STORE,
    PAGE_SIZE,
    RENDER_LOCK,
    SECRETARY_KINDS,
    Ctx,
    open_ctx,
    period_label,
    posted,
    redirect,
)
from asurso_sync.web.jobs import Job

SLUG = re.compile(
    r"^(?P<kind>D\d+)_[a-z_]+?_(?P<period>\d{4}-\d{2}|term\d+|\d{4}-W\d{2}|\d{4}-\d{4})"
    r"(?:_(?P<rest>.+))?$"
)
FORMATS = {".pdf": "PDF", ".html": "HTML", ".csv": "CSV", ".xlsx": "XLSX"}
MEDIA = {
    ".pdf": "application/pdf",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PER_CLASS = ("D5", "D6", "D7", "D8")  # one document per class
RENDERABLE = ("D1", "D2", "D3", "D5", "D6", "D7", "D8", "D10")


@dataclass
class DocEntry:
    slug: str
    kind: str
    title: str
    period: str
    period_label: str = ""
    who: str = ""
    made_at: float = 0.0
    files: dict[str, str] = field(default_factory=dict)  # "PDF" -> path relative to the folder

    def links(self) -> list[tuple[str, str]]:
        """PDF, HTML, then the tables' CSV and XLSX twins."""
        rank = {"PDF": 0, "HTML": 1, "CSV": 2, "XLSX": 3}
        return sorted(self.files.items(), key=lambda i: (rank[i[0].split()[0]], i[0]))


def allowed_kinds(ctx: Ctx) -> set[str]:
    kinds = set(KINDS)
    return kinds & SECRETARY_KINDS if ctx.user.role == "secretary" else kinds


def scan(root: Path) -> dict[str, DocEntry]:
    """Documents in `root` and its sub-folders (one level), keyed by folder and slug."""
    found: dict[str, DocEntry] = {}
    if not root.is_dir():
        return found
    candidates = [p for p in root.iterdir() if p.is_file()]
    for sub in root.iterdir():
        if sub.is_dir() and not sub.name.startswith("."):
            candidates += [p for p in sub.iterdir() if p.is_file()]
    for path in candidates:
        if path.suffix not in FORMATS:
            continue
        stem = path.name.split(".")[0]
        m = SLUG.match(stem)
        if not m or m["kind"] not in KINDS:
            continue
        key = f"{path.parent.relative_to(root).as_posix()}/{stem}"
        entry = found.get(key)
        if entry is None:
            entry = found[key] = DocEntry(
                slug=stem, kind=m["kind"], title=KINDS[m["kind"]][2], period=m["period"]
            )
            entry.who = m["rest"] or ""
        label = FORMATS[path.suffix]
        if label in ("CSV", "XLSX") and path.name.count(".") > 1:
            label = f"{label} ({path.name.split('.')[1]})"
        entry.files[label] = path.relative_to(root).as_posix()
        entry.made_at = max(entry.made_at, path.stat().st_mtime)
    return found


def _names(ctx: Ctx, entries: list[DocEntry]) -> None:
    """Name parts of file names (`Петрова_МИ`, `t201`, `5а_Иванов_ИИ`) -> full names;
    periods -> Russian labels."""
    db = ctx.mirror
    term_names = [t["name"] for t in terms(db) if not t["is_year"]]
    teachers: dict[str, str] = {}
    for tid, name in db.execute("SELECT id, name FROM teachers").fetchall():
        teachers[f"t{tid}"] = name
        teachers.setdefault(person_slug(name), name)
    pupils: dict[str, dict[str, str]] = {}
    wanted = {e.who.split("_", 1)[0] for e in entries if e.kind == "D4" and "_" in e.who}
    if wanted:
        marks = ",".join("?" * len(wanted))
        for cname, sid, full in db.execute(
            f"SELECT c.name, s.id, s.full_name FROM students s JOIN classes c ON c.id = s.class_id "
            f"WHERE c.name IN ({marks})",
            sorted(wanted),
        ).fetchall():
            slot = pupils.setdefault(class_slug(cname), {})
            slot[f"s{sid}"] = full
            slot.setdefault(person_slug(full), full)
    for e in entries:
        if e.kind == "D1":
            e.who = _teacher_name(e.who, teachers)
        elif e.kind == "D4" and "_" in e.who:
            cname, pupil = e.who.split("_", 1)
            known = pupils.get(cname, {})
            pupil = known.get(pupil) or known.get(pupil.rsplit("_s", 1)[0]) or pupil
            e.who = f"{cname}, {pupil}"
        e.period_label = period_label(e.period, term_names)


def _teacher_name(part: str, teachers: dict[str, str]) -> str:
    """`Петрова_МИ` or `Петрова_МИ_5а` (a class teacher's copy) -> the teacher's full name."""
    if part in teachers:
        return teachers[part]
    head, _, klass = part.rpartition("_")
    if head in teachers:
        return f"{teachers[head]}, {klass}"
    return part.replace("_", " ")


def documents_page(request: Request) -> Response:
    ctx = open_ctx(request, "documents")
    try:
        q = request.query_params
        kinds = allowed_kinds(ctx)
        kind = q.get("kind") or None
        every = [e for e in scan(ctx.settings.documents_dir).values() if e.kind in kinds]
        if kind:
            every = [e for e in every if e.kind == kind]
        every.sort(key=lambda e: e.slug)
        every.sort(key=lambda e: e.period, reverse=True)
        every.sort(key=lambda e: int(e.kind[1:]))
        page = max(int(q.get("page", "1") or 1) if q.get("page", "1").isdigit() else 1, 1)
        total = len(every)
        shown = every[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        _names(ctx, shown)
        ctx.audit("documents", f"kind={kind or 'all'} shown={len(shown)}")
        return ctx.render(
            "documents.html",
            "documents",
            entries=shown,
            total=total,
            page_no=page,
            pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            kind=kind,
            query=lambda n: urlencode({**({"kind": kind} if kind else {}), "page": n}),
            kinds=[(k, KINDS[k][2]) for k in KINDS if k in kinds],
            renderable=[(k, KINDS[k][2]) for k in RENDERABLE if k in kinds],
            classes=class_names(ctx),
            terms=[t["name"] for t in terms(ctx.mirror) if not t["is_year"]],
            jobs=request.app.state.jobs.recent(ctx.user.login, 5),
            made_at=lambda ts: dt.datetime.fromtimestamp(ts).strftime("%d.%m.%Y %H:%M"),
        )
    finally:
        ctx.close()


def document_file(request: Request) -> Response:
    ctx = open_ctx(request, "documents")
    try:
        rel = request.query_params.get("f", "")
        root = ctx.settings.documents_dir.resolve()
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file() or path.suffix not in MEDIA:
            raise HTTPException(404, "нет такого документа")
        m = SLUG.match(path.name.split(".")[0])
        if not m or m["kind"] not in allowed_kinds(ctx):
            raise HTTPException(403, "Нет доступа к этому документу")
        ctx.audit("documents-file", f"kind={m['kind']} file={path.name.split('.')[0]}")
        return FileResponse(path, media_type=MEDIA[path.suffix], headers=NO_STORE)
    finally:
        ctx.close()


async def render_post(request: Request) -> Response:
    async with posted(request, "documents", "render") as (ctx, form):
        code = str(form.get("kind", ""))
        if code not in RENDERABLE or code not in allowed_kinds(ctx):
            raise HTTPException(403, "Этот документ вам недоступен")
        params = _period_params(str(form.get("period", "")).strip())
        class_name = str(form.get("class", "")).strip() or None
        if class_name is not None and class_name not in class_names(ctx):
            raise HTTPException(400, "нет такого класса")
        out = ctx.settings.documents_dir / f"{code}_{KINDS[code][1]}"
        mirror, config = ctx.settings.mirror_path, ctx.settings.config
        login = ctx.user.login

        # one class at a time, so that a D1 click waits for one class's print at most
        names = class_names(ctx) if code in PER_CLASS and class_name is None else [class_name]

        def work(job: Job) -> None:
            for name in names:
                job.message = f"{name or 'вся школа'}…"
                with RENDER_LOCK:
                    made = documents.render(
                        mirror,
                        code,
                        out,
                        fmt="pdf" if _pdf_ok() else "html",
                        class_name=name,
                        settings=config,
                        progress=job.count if len(names) == 1 else None,
                        issued_by=login,
                        **params,
                    )
                job.files += [p for p in made if p.suffix in (".pdf", ".html")]
                if len(names) > 1:
                    job.step()
            job.message = f"готово: {len(job.files)} файл(ов)"

        job = request.app.state.jobs.start(
            f"{code} {KINDS[code][2]}",
            ctx.user.login,
            work,
            total=len(names),
            back="/documents",
        )
        ctx.audit("documents-render", f"kind={code} class={class_name or 'all'}")
        return redirect(f"/jobs/{job.id}")


def class_names(ctx: Ctx) -> list[str]:
    """The year's classes in school order (5а, 5б, …)."""
    return [c["name"] for c in classes(ctx.mirror)]


def _period_params(value: str) -> dict[str, Any]:
    if not value:
        return {}
    if re.fullmatch(r"\d{4}-\d{2}", value):
        return {"month": value}
    if m := re.fullmatch(r"term(\d+)", value):
        return {"term": int(m[1])}
    raise HTTPException(400, "период: ГГГГ-ММ или termN")


def _pdf_ok() -> bool:
    try:
        load_weasyprint()
    except (AsursoSyncError, ImportError, OSError):
        return False
    return True
