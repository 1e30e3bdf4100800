"""A render cache: a document rendered once per mirror state is reused, byte for byte.

`report` and `demo` put what they render; `archive create` gets the year's prints from it
instead of rendering them again. An entry is keyed by

* the document kind ("D7") and its parameters (class, term, month, week, teacher, format),
* the report settings (templates folder, PDF variant, codes, ...),
* the mirror state: the last sync run (id, status, end) and the last check run, which are
  the only writers of what documents read,
* a digest of every template file (ours and the school's), and the package version,

so the same inputs give the same bytes, and any change gives a miss. The cache lives beside
the mirror (`<mirror folder>/.render-cache/`, 0700, files 0600: they hold pupils' data) and
keeps one mirror state: putting an entry of a new state removes the older states' entries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from asurso_sync import __version__
from asurso_sync.documents import render, resolve_kind
from asurso_sync.documents.output import templates_root
from asurso_sync.documents.settings import ReportSettings, load_report_settings
from asurso_sync.mirror.audit import record_action

log = logging.getLogger(__name__)
CACHE_DIR = ".render-cache"
MANIFEST = "files.json"
PARAMS = ("fmt", "month", "term", "week", "class_name", "teacher")
# D1 records the list as issued when it is written; D10 reads the archive's register, not
# the mirror: both are rendered every time.
UNCACHED = ("D1", "D10")

Renderer = Callable[..., list[Path]]


def mirror_state(db: Database) -> str:
    """What identifies the mirror's content for documents: the last sync and check runs."""
    names = set(db.table_names())
    parts: list[Any] = []
    if "sync_runs" in names:
        row = db.execute(
            "SELECT id, status, finished_at FROM sync_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        parts.append(list(row) if row else None)
    if "check_runs" in names:
        row = db.execute("SELECT id, run_at FROM check_runs ORDER BY id DESC LIMIT 1").fetchone()
        parts.append(list(row) if row else None)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def templates_digest(settings: ReportSettings) -> str:
    """SHA-256 over every template file, ours and the school's `templates_dir`."""
    h = hashlib.sha256(__version__.encode())
    roots = [templates_root()]
    if settings.templates_dir:
        roots.append(Path(settings.templates_dir).expanduser())
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _settings(settings: Any) -> ReportSettings:
    if settings is None:
        return ReportSettings()
    if isinstance(settings, ReportSettings):
        return settings
    return load_report_settings(settings)


def _database(db: Any) -> tuple[Database, bool]:
    if isinstance(db, Database):
        return db, False
    return Database(sqlite3.connect(f"file:{Path(db)}?mode=ro", uri=True)), True


def _audit_reuse(db: Any, kind: str, params: dict[str, Any], files: list[Path]) -> None:
    """A copy from the cache is a rendering too (152-ФЗ): record it like `render` does."""
    detail = f"{resolve_kind(kind)} format={params.get('fmt', 'html')} files={len(files)} reused"
    if params.get("class_name"):
        detail += f" class={params['class_name']}"
    database = db if isinstance(db, Database) else Database(Path(db))
    try:
        record_action(database, "report", detail, commit=True)
    finally:
        if database is not db:
            database.conn.close()


class RenderCache:
    """The render cache of one mirror (see the module's docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_mirror(cls, mirror: str | os.PathLike[str]) -> RenderCache:
        return cls(Path(mirror).parent / CACHE_DIR)

    def key(self, db: Database, kind: str, params: dict[str, Any], settings: Any) -> str:
        """`<mirror state>-<digest of kind, parameters, settings and templates>`."""
        rs = _settings(settings)
        given = {k: params.get(k) for k in PARAMS if params.get(k) is not None}
        given.setdefault("fmt", "html")
        what = json.dumps(
            [resolve_kind(kind), given, repr(rs), templates_digest(rs)],
            ensure_ascii=False,
            sort_keys=True,
        )
        return f"{mirror_state(db)}-{hashlib.sha256(what.encode()).hexdigest()[:32]}"

    def get(self, key: str, out_dir: Path) -> list[Path] | None:
        """Copy a cached entry's files into `out_dir` (None on a miss)."""
        entry = self.root / key
        try:
            names = json.loads((entry / MANIFEST).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if not all((entry / n).is_file() for n in names):
            return None
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        copied = []
        for name in names:
            shutil.copyfile(entry / name, out_dir / name)
            os.chmod(out_dir / name, 0o600)
            copied.append(out_dir / name)
        log.info("reused %d file(s) rendered before from the same mirror state", len(copied))
        return copied

    def put(self, key: str, files: list[Path]) -> None:
        """Keep copies of a rendering's files; drop entries of older mirror states."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        state = key.split("-", 1)[0]
        for old in self.root.iterdir():
            if old.is_dir() and not old.name.startswith(state + "-"):
                shutil.rmtree(old, ignore_errors=True)
        tmp = self.root / f".{key}.{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(mode=0o700)
        for path in files:
            shutil.copyfile(path, tmp / path.name)
            os.chmod(tmp / path.name, 0o600)
        (tmp / MANIFEST).write_text(json.dumps([p.name for p in files]), "utf-8")
        target = self.root / key
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)

    def remember(
        self, db: Any, kind: str, files: list[Path], *, settings: Any = None, **params: Any
    ) -> None:
        """Keep files rendered elsewhere (e.g. in a process pool) for these parameters."""
        if resolve_kind(kind) in UNCACHED:
            return
        database, opened = _database(db)
        try:
            self.put(self.key(database, kind, params, settings), files)
        finally:
            if opened:
                database.conn.close()

    def render(
        self, db: Any, kind: str, out_dir: str | os.PathLike[str], **params: Any
    ) -> list[Path]:
        """`documents.render` through the cache: a hit copies, a miss renders and keeps."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        if resolve_kind(kind) in UNCACHED:
            return render(db, kind, out, **params)
        database, opened = _database(db)
        try:
            key = self.key(database, kind, params, params.get("settings"))
        finally:
            if opened:
                database.conn.close()
        hit = self.get(key, out)
        if hit is not None:
            _audit_reuse(db, kind, params, hit)
            return hit
        made = render(db, kind, out, **params)
        if made:
            self.put(key, made)
        return made

    def render_classes(
        self,
        db: Any,
        kind: str,
        out_dir: str | os.PathLike[str],
        classes: list[str],
        **params: Any,
    ) -> dict[str, list[Path]]:
        """One document per class of `classes`: kept ones copied from the cache, the others
        rendered in one call (`documents.render` with `by_class`, its PDFs in one process per
        CPU) and kept per class. Returns {class name: files}."""
        out = Path(out_dir)
        database, opened = _database(db)
        try:
            keys = {
                name: self.key(
                    database, kind, {**params, "class_name": name}, params.get("settings")
                )
                for name in classes
            }
        finally:
            if opened:
                database.conn.close()
        found: dict[str, list[Path]] = {}
        for i, name in enumerate(classes):
            hit = self.get(keys[name], out / f"class-{i}")
            if hit is not None:
                _audit_reuse(db, kind, {**params, "class_name": name}, hit)
                found[name] = hit
        missing = [name for name in classes if name not in found]
        if missing:
            by_class: dict[str | None, list[Path]] = {}
            folder = out / "all"
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            render(db, kind, folder, workers=os.cpu_count(), by_class=by_class, **params)
            for name in missing:
                paths = by_class.get(name) or []
                if paths:
                    self.put(keys[name], paths)
                found[name] = paths
        return found

    def renderer(self) -> Renderer:
        return self.render
