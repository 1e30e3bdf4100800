"""Архив: the sealed bags with their checks per location, «проверить» in the background,
one class's journal PDF from a bag (verified first), due bags and destruction acts."""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from asurso_sync import archive
from asurso_sync.archive.register import act_events
from asurso_sync.errors import AsursoSyncError
from asurso_sync.web.core import NO_STORE, Ctx, open_ctx, posted, redirect
from asurso_sync.web.jobs import Job

KIND_NAMES = {
    "journal": "классные журналы (5 лет)",
    "summary": "сводные ведомости (25 лет)",
}


def store_path(ctx: Ctx) -> Path:
    return ctx.settings.config.archive_path


def acts(store: Path) -> list[dict[str, Any]]:
    """Destruction acts, newest first, each with its approval when the register has one."""
    if not (store / "register.sqlite").exists():
        return []
    conn = archive.open_register(store)
    try:
        found = conn.execute(
            "SELECT number, created_at, on_date, bags FROM acts ORDER BY created_at DESC"
        ).fetchall()
        out = []
        for number, created, on_date, bags in found:
            approved = act_events(conn, number, "act_approve")
            out.append(
                {
                    "number": number,
                    "created_at": created,
                    "on_date": on_date,
                    "bags": json.loads(bags),
                    "approved_by": approved[0]["details"].get("approved_by") if approved else None,
                    "approved_at": approved[0]["at"] if approved else None,
                }
            )
        return out
    finally:
        conn.close()


def classes_in(entry: archive.BagEntry) -> list[str]:
    """Class folders under data/print of a journal bag (transliterated names)."""
    folder = entry.path / "data" / "print"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def class_labels(ctx: Ctx, folders: list[str]) -> list[tuple[str, str]]:
    """(folder, the class's own name where the mirror knows it: `5a` -> `5а`)."""
    names = {
        archive.transliterate(r[0]): r[0]
        for r in ctx.mirror.execute("SELECT DISTINCT name FROM classes").fetchall()
        if r[0]
    }
    return [(f, names.get(f, f)) for f in folders]


def archive_page(request: Request) -> Response:
    ctx = open_ctx(request, "archive")
    try:
        config = ctx.settings.config
        store = store_path(ctx)
        today = dt.date.today()
        try:
            bags = archive.list_bags(config) if store.is_dir() else []
        except AsursoSyncError as exc:
            raise HTTPException(503, str(exc)) from None
        health: dict[str, list[dict[str, Any]]] = {}
        for h in archive.bag_health(config) if store.is_dir() else []:
            health.setdefault(h["bag"], []).append(h)
        rows = []
        for b in sorted(bags, key=lambda b: (b.school_year, b.kind, b.version), reverse=True):
            rows.append(
                {
                    "entry": b,
                    "kind_name": KIND_NAMES.get(b.kind, b.kind),
                    "locations": health.get(b.name, []),
                    "classes": class_labels(ctx, classes_in(b)) if b.kind == "journal" else [],
                    "due": b.due(today),
                }
            )
        ctx.audit("archive", f"bags={len(rows)}")
        return ctx.render(
            "archive.html",
            "archive",
            rows=rows,
            store=store,
            due=[r for r in rows if r["due"]],
            acts=acts(store),
            may_check=ctx.may("archive_check"),
            may_get=ctx.may("archive_get"),
            may_act=ctx.may("archive_act"),
            jobs=request.app.state.jobs.recent(ctx.user.login, 5),
        )
    finally:
        ctx.close()


def _bag(ctx: Ctx, name: str) -> archive.BagEntry:
    for entry in archive.list_bags(ctx.settings.config):
        if entry.name == name:
            return entry
    raise HTTPException(404, "нет такого пакета")


async def verify_post(request: Request) -> Response:
    async with posted(request, "archive", "archive_check") as (ctx, form):
        full = form.get("full") == "1"
        name = str(form.get("bag", ""))
        names = [e.name for e in archive.list_bags(ctx.settings.config)]
        if name and name not in names:
            raise HTTPException(404, "нет такого пакета")
        todo = [name] if name else names
        config = ctx.settings.config

        def work(job: Job) -> None:
            bad = []
            for bag in todo:
                job.message = f"{bag}…"
                for result in archive.verify(config, bag, full=full):
                    if not result.ok:
                        bad.append(f"{bag}: " + "; ".join(map(str, result.problems)))
                job.step()
            if bad:
                raise RuntimeError("нарушена целостность — " + " | ".join(bad))
            job.message = f"в порядке: {len(todo)} пакет(ов) проверено"

        kind = "полная" if full else "быстрая"
        job = request.app.state.jobs.start(
            f"Проверка ({kind}): {name or 'все пакеты'}",
            ctx.user.login,
            work,
            total=len(todo),
            back="/archive",
        )
        ctx.audit("archive-verify", f"full={int(full)} bags={len(todo)}")
        return redirect(f"/jobs/{job.id}")


async def get_post(request: Request) -> Response:
    """One class's printed documents out of a bag (fully verified first), as a job."""
    async with posted(request, "archive", "archive_get") as (ctx, form):
        entry = _bag(ctx, str(form.get("bag", "")))
        folder = str(form.get("class", ""))
        if folder not in classes_in(entry):
            raise HTTPException(404, "в пакете нет такого класса")
        config, jobs = ctx.settings.config, request.app.state.jobs
        out = Path(tempfile.mkdtemp(prefix="asurso-web-get-"))

        def work(job: Job) -> None:
            job.message = "полная проверка пакета…"
            # a bag's class folders are transliterated already; `get` leaves ASCII as it is
            files = archive.get(config, entry.name, out, class_name=folder)
            job.step()
            pdfs = [p for p in files if p.suffix == ".pdf"]
            journal = [p for p in pdfs if "journal" in p.name.lower() or "D7" in p.name]
            job.files = journal or pdfs
            job.message = "пакет проверен, копия сверена с манифестом"

        job = jobs.start(
            f"Журнал класса {folder} из {entry.name}", ctx.user.login, work, back="/archive"
        )
        ctx.audit("archive-get", f"bag={entry.name} class={folder}")
        return redirect(f"/jobs/{job.id}")


async def act_post(request: Request) -> Response:
    async with posted(request, "archive", "archive_act") as (ctx, form):
        try:
            made = archive.destruction_act(ctx.settings.config)
        except AsursoSyncError as exc:
            raise HTTPException(400, str(exc)) from None
        ctx.audit("archive-act", f"number={made['number']} bags={len(made['bags'])}")
        return redirect("/archive#acts")


async def approve_post(request: Request) -> Response:
    async with posted(request, "archive", "archive_act") as (ctx, form):
        number = str(form.get("number", ""))
        if number not in {a["number"] for a in acts(store_path(ctx))}:
            raise HTTPException(404, "нет такого акта")
        try:
            archive.approve_act(ctx.settings.config, number, ctx.user.login)
        except AsursoSyncError as exc:
            raise HTTPException(400, str(exc)) from None
        ctx.audit("archive-approve", f"number={number}")
        return redirect("/archive#acts")


def act_file(request: Request) -> Response:
    ctx = open_ctx(request, "archive")
    try:
        number = request.query_params.get("number", "")
        fmt = request.query_params.get("fmt", "html")
        safe = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in number)
        if not re.fullmatch(r"[A-Za-z0-9-]+", safe or "-") or fmt not in ("html", "pdf"):
            raise HTTPException(404, "нет такого акта")
        path = store_path(ctx) / "acts" / f"destruction-act-{safe}.{fmt}"
        if not path.is_file():
            raise HTTPException(404, "нет такого файла акта")
        media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
        return FileResponse(path, media_type=media, headers=NO_STORE)
    finally:
        ctx.close()
