"""The secretary's operations on sealed bags: list, verify, get, copy, due, destroy.

Every operation only reads a sealed bag, except `destroy`, which removes a whole bag after
the checks the law asks for (due, listed in an approved act). Each check, copy and
destruction is appended to the fixity register.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import bagit

from asurso_sync.archive import fixity
from asurso_sync.archive.build import (
    DIR_MODE,
    FILE_MODE,
    STAGING,
    bag_dirs,
    make_writable,
    read_only,
    remove_tree,
    store_lock,
    store_path,
)
from asurso_sync.archive.fixity import Problem, VerifyResult
from asurso_sync.archive.names import ArchiveError, parse_bag_name, transliterate
from asurso_sync.archive.register import (
    events,
    get_act,
    ingest_digest,
    last_event,
    log_event,
    open_register,
    plan_full_checks,
)
from asurso_sync.archive.settings import archive_settings
from asurso_sync.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BagEntry:
    """One bag of the store as the secretary sees it."""

    name: str
    path: Path
    kind: str
    school_year: str
    version: int
    retention_class: str
    retain_until: date | None
    supersedes: str | None
    superseded_by: str | None
    info: dict[str, str]

    def due(self, on: date) -> bool:
        return self.retain_until is not None and self.retain_until <= on


def list_bags(config: Config) -> list[BagEntry]:
    """Every sealed bag in the store, with its bag-info and which version replaced it."""
    entries = []
    for path in bag_dirs(store_path(config)):
        parsed = parse_bag_name(path.name)
        assert parsed is not None
        info_file = path / "bag-info.txt"
        info = fixity.read_tags(info_file) if info_file.exists() else {}
        until = info.get("Retain-Until")
        try:
            until_date = date.fromisoformat(until) if until else None
        except ValueError:
            until_date = None
        entries.append(
            BagEntry(
                name=path.name,
                path=path,
                kind=parsed.kind,
                school_year=parsed.year.label,
                version=parsed.version,
                retention_class=info.get("Retention-Class", ""),
                retain_until=until_date,
                supersedes=info.get("Supersedes"),
                superseded_by=None,
                info=info,
            )
        )
    replaced = {e.supersedes: e.name for e in entries if e.supersedes}
    return [BagEntry(**{**e.__dict__, "superseded_by": replaced.get(e.name)}) for e in entries]


def find_bag(config: Config, name: str) -> BagEntry:
    for entry in list_bags(config):
        if entry.name == name:
            return entry
    raise ArchiveError(f"no bag {name!r} in {store_path(config)} (see `archive list`)")


# ---------------------------------------------------------------- fixity


def verify(
    config: Config, bag: str | None = None, *, full: bool = False, at: Path | None = None
) -> list[VerifyResult]:
    """Check one bag or all (fast or full), log a fixity event per bag, never modify a bag.

    With no bag named, a bag the register saw enter the store and never saw destroyed but
    that is no longer there is reported missing too. `at` checks the copies on another
    medium (e.g. the safe's USB disk) against the digests the store's register recorded at
    ingest; the events name that location.
    """
    store = store_path(config)
    where = Path(at) if at is not None else store
    if at is not None and not where.is_dir():
        raise ArchiveError(f"{where} is not a folder (is the medium mounted?)")
    register = open_register(store)
    try:
        if bag:
            names = [bag]
            gone = register.execute(
                "SELECT at, details FROM events WHERE bag = ? AND event = 'destroy' "
                "AND result = 'ok'",
                (bag,),
            ).fetchone()
            if gone and not (where / bag).is_dir():
                act = json.loads(gone["details"]).get("act")
                raise ArchiveError(f"{bag} was destroyed on {gone['at'][:10]} under act № {act}")
            if not (where / bag).is_dir() and ingest_digest(register, bag) is None:
                raise ArchiveError(f"no bag {bag!r} in {where} (see `archive list`)")
        elif at is not None:
            names = [p.name for p in bag_dirs(where)]
        else:
            names = [p.name for p in bag_dirs(store)]
            destroyed = {
                r[0]
                for r in register.execute(
                    "SELECT bag FROM events WHERE event='destroy' AND result='ok'"
                )
            }
            ingested = {
                r[0]
                for r in register.execute(
                    "SELECT bag FROM events WHERE event='ingest' AND result='ok'"
                )
            }
            names = sorted(set(names) | (ingested - destroyed))
        results = []
        for name in names:
            result = fixity.verify_bag(
                where / name, full=full, anchor_sha512=ingest_digest(register, name)
            )
            log_event(
                register,
                "fixity_full" if full else "fixity_fast",
                name,
                where,
                result.ok,
                {
                    "problems": [str(p) for p in result.problems],
                    "files": result.files,
                    "bytes": result.bytes_hashed,
                },
            )
            if not result.ok:
                log.warning(
                    "%s failed its %s check: %d problem(s)",
                    name,
                    "full" if full else "fast",
                    len(result.problems),
                )
            results.append(result)
        return results
    finally:
        register.close()


def run_full_checks(config: Config, today: date | None = None) -> list[VerifyResult]:
    """The weekly job: fully re-hash the bags `plan_full_checks` picks for this week."""
    settings = archive_settings(config)
    store = store_path(config)
    register = open_register(store)
    try:
        plan = plan_full_checks(
            register,
            [p.name for p in bag_dirs(store)],
            today or date.today(),
            per_run=settings.full_checks_per_run or None,
            interval_days=settings.full_check_days,
        )
    finally:
        register.close()
    return [r for name in plan for r in verify(config, name, full=True)]


# ---------------------------------------------------------------- copies out


def _copy_verified(
    src_root: Path, pairs: list[tuple[str, Path]], manifest: dict[str, str]
) -> list[Path]:
    """Copy files of a bag and prove each copy by its SHA-512 from the manifest."""
    written = []
    for name, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(src_root / name, target)
        os.chmod(target, 0o600)
        if fixity.file_sha512(target) != manifest[name]:
            raise ArchiveError(f"the copy of {name} does not match the bag's manifest")
        written.append(target)
    return written


def get(config: Config, bag: str, out_dir: Path, *, class_name: str | None = None) -> list[Path]:
    """Copy a bag (or one class's printed documents) out of the store, verified.

    The source bag is fully checked first; every copied file is then re-hashed against the
    bag's SHA-512 manifest. Copies are the secretary's working files (0600).
    """
    entry = find_bag(config, bag)
    store = store_path(config)
    register = open_register(store)
    try:
        result = fixity.verify_bag(
            entry.path, full=True, anchor_sha512=ingest_digest(register, bag)
        )
        log_event(
            register,
            "fixity_full",
            bag,
            store,
            result.ok,
            {
                "problems": [str(p) for p in result.problems],
                "files": result.files,
                "bytes": result.bytes_hashed,
                "for": "get",
            },
        )
    finally:
        register.close()
    if not result.ok:
        raise ArchiveError(
            f"{bag} failed its check, nothing copied: " + "; ".join(map(str, result.problems))
        )
    manifest = fixity.read_manifest(entry.path / "manifest-sha512.txt")
    out_dir = Path(out_dir)
    if class_name is None:
        names = sorted(manifest) + [
            p.relative_to(entry.path).as_posix()
            for p in sorted(entry.path.iterdir())
            if p.is_file()
        ]
        tags = {n: fixity.file_sha512(entry.path / n) for n in names if not n.startswith("data/")}
        target = out_dir / bag
        if target.exists():
            raise ArchiveError(f"{target} already exists")
        return _copy_verified(entry.path, [(n, target / n) for n in names], {**manifest, **tags})
    prefix = f"data/print/{transliterate(class_name)}/"
    names = sorted(n for n in manifest if n.startswith(prefix))
    if not names:
        raise ArchiveError(f"{bag} holds no documents of class {class_name}")
    folder = out_dir / transliterate(class_name)
    return _copy_verified(entry.path, [(n, folder / Path(n).name) for n in names], manifest)


def copy(config: Config, bag: str, to: Path | None = None) -> VerifyResult:
    """Copy a sealed bag to removable media (`[archive] safe_path` by default), re-check it.

    The copy keeps the 0440/0550 modes; it is fully verified after writing against the
    digest recorded at ingest, and the `copy` event records where it went and the result.
    """
    settings = archive_settings(config)
    if to is None:
        if not settings.safe_path:
            raise ArchiveError("name the medium with --to PATH or set [archive] safe_path")
        to = config.resolve(settings.safe_path)
    entry = find_bag(config, bag)
    store = store_path(config)
    to = Path(to)
    if not to.is_dir():
        raise ArchiveError(f"{to} is not a folder (is the medium mounted?)")
    target = to / bag
    if target.exists():
        raise ArchiveError(f"{target} already exists; verify it with `archive verify` instead")
    register = open_register(store)
    try:
        source = fixity.verify_bag(
            entry.path, full=False, anchor_sha512=ingest_digest(register, bag)
        )
        if not source.ok:
            raise ArchiveError(
                f"{bag} failed its check, not copied: " + "; ".join(map(str, source.problems))
            )
        partial = to / f".{bag}.partial"
        if partial.exists():
            remove_tree(partial)
        shutil.copytree(entry.path, partial)
        _sync_tree(partial)
        os.rename(partial, target)
        result = fixity.verify_bag(target, full=True, anchor_sha512=ingest_digest(register, bag))
        log_event(
            register,
            "copy",
            bag,
            to,
            result.ok,
            {
                "problems": [str(p) for p in result.problems],
                "files": result.files,
                "bytes": result.bytes_hashed,
            },
        )
        return result
    finally:
        register.close()


def _sync_tree(path: Path) -> None:
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with open(Path(dirpath, name), "rb") as fh:
                os.fsync(fh.fileno())
    for p in (path, path.parent):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def restore_test(config: Config, bag: str) -> list[str]:
    """The restore drill: copy a bag to a temporary folder, validate it with bagit, open its
    database copy with integrity_check; logs `restore_test`. Returns the problems found."""
    entry = find_bag(config, bag)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="asurso-restore-") as tmp:
        copy_path = Path(tmp) / bag
        shutil.copytree(entry.path, copy_path)
        make_writable(copy_path)
        try:
            bagit.Bag(str(copy_path)).validate()
        except bagit.BagError as exc:
            problems.append(f"bagit: {exc}")
        db = copy_path / "data" / "db" / "mirror.sqlite"
        if db.exists():
            conn = read_only(db)
            try:
                check = [r[0] for r in conn.execute("PRAGMA integrity_check")]
                if check != ["ok"]:
                    problems.append(f"integrity_check: {check[:3]}")
            finally:
                conn.close()
    register = open_register(store_path(config))
    try:
        log_event(
            register, "restore_test", bag, store_path(config), not problems, {"problems": problems}
        )
    finally:
        register.close()
    return problems


# ---------------------------------------------------------------- retention


def due(config: Config, on: date | None = None) -> list[BagEntry]:
    """Bags whose Retain-Until has come (they may go into a destruction act)."""
    on = on or date.today()
    return [e for e in list_bags(config) if e.due(on)]


def destroy(config: Config, bag: str, act_number: str, *, today: date | None = None) -> dict:
    """Remove a due bag listed in the act; log `destroy` with the digest and the act number.

    Refuses a bag that is not due yet, or that the act does not list. Copies on removable
    media are outside the tool's reach: the act says they must be destroyed the same way.
    """
    today = today or date.today()
    store = store_path(config)
    entry = find_bag(config, bag)
    with store_lock(store):
        register = open_register(store)
        try:
            act = get_act(register, str(act_number))
            if act is None:
                raise ArchiveError(
                    f"there is no destruction act № {act_number} "
                    "(make one with `archive destruction-act`)"
                )
            if bag not in act["bags"]:
                raise ArchiveError(f"act № {act_number} does not list {bag}")
            if not entry.due(today):
                raise ArchiveError(
                    f"{bag} must be kept until {entry.retain_until}; "
                    "it cannot be destroyed before then"
                )
            anchor_file = entry.path / "tagmanifest-sha512.txt"
            digest = fixity.file_sha512(anchor_file) if anchor_file.exists() else None
            # out of the store in one atomic step, then logged, then deleted: an interrupted
            # run never leaves half a bag among the sealed ones
            doomed = store / STAGING / f"destroy-{bag}"
            doomed.parent.mkdir(mode=0o700, exist_ok=True)
            os.rename(entry.path, doomed)
            details = {
                "act": str(act_number),
                "tagmanifest_sha512": digest,
                "ingest_tagmanifest_sha512": ingest_digest(register, bag),
                "retain_until": entry.retain_until.isoformat() if entry.retain_until else None,
            }
            log_event(register, "destroy", bag, store, True, details)
            remove_tree(doomed)
            return {"bag": bag, **details}
        finally:
            register.close()


# ---------------------------------------------------------------- D10 and status


REGISTER_COLUMNS = [
    ("number", "№"),
    ("class_name", "Класс"),
    ("school_year", "Учебный год"),
    ("document_kind", "Вид документа"),
    ("sheets", "Листов"),
    ("transfer_date", "Дата передачи"),
    ("transferred_by", "Кем передано / принято"),
    ("storage_location", "Место хранения"),
    ("retention", "Срок хранения, статья перечня"),
    ("destroy_from", "Дата, с которой возможно уничтожение"),
    ("act_number", "№ акта об уничтожении"),
    ("digest_sha512", "SHA-512 tagmanifest-sha512.txt"),
    ("bag", "Пакет"),
]
_DOC_KINDS = {
    "journal": "Электронный журнал (печатная форма)",
    "summary-sheet": "Сводная ведомость учёта успеваемости",
    "class-progress": "Сводный отчёт об успеваемости класса",
}


def _pages(path: Path) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    try:
        return len(PdfReader(str(path)).pages)
    except Exception:
        return None


def register_rows(config: Config) -> list[dict[str, Any]]:
    """Rows of the archive register (D10): one per class document per bag, destroyed ones too.

    Keys are `REGISTER_COLUMNS`' first items; `digest_sha512` is the SHA-512 of the bag's
    `tagmanifest-sha512.txt`, the anchor to print on the signed paper record.
    """
    settings = archive_settings(config)
    store = store_path(config)
    register = open_register(store)
    try:
        ingests = {e["bag"]: e for e in events(register) if e["event"] == "ingest"}
        destroys = {
            e["bag"]: e for e in events(register) if e["event"] == "destroy" and e["result"] == "ok"
        }
    finally:
        register.close()
    live = {e.name: e for e in list_bags(config)}
    rows: list[dict[str, Any]] = []
    for bag in sorted(set(live) | set(ingests)):
        entry = live.get(bag)
        parsed = parse_bag_name(bag)
        if parsed is None:
            continue
        ingest = ingests.get(bag)
        digest = ingest["details"].get("tagmanifest_sha512") if ingest else None
        if digest is None and entry and (entry.path / "tagmanifest-sha512.txt").exists():
            digest = fixity.file_sha512(entry.path / "tagmanifest-sha512.txt")
        destroyed = destroys.get(bag)
        info = entry.info if entry else {}
        retention = {
            "journal": f"{settings.journal_years} лет",
            "summary": f"{settings.summary_years} лет",
        }[parsed.kind]
        if settings.retention_article or info.get("Retention-Article"):
            retention += ", " + (info.get("Retention-Article") or settings.retention_article)
        common = {
            "school_year": parsed.year.label,
            "transfer_date": (ingest["at"][:10] if ingest else info.get("Bagging-Date")),
            "transferred_by": settings.transferred_by or (ingest["os_user"] if ingest else ""),
            "storage_location": settings.storage_location or str(store),
            "retention": retention,
            "destroy_from": info.get("Retain-Until")
            or (destroyed["details"].get("retain_until") if destroyed else None),
            "act_number": destroyed["details"].get("act") if destroyed else None,
            "digest_sha512": digest,
            "bag": bag,
        }
        group = (ingest["details"].get("classes") or {}) if ingest else {}
        docs = []
        if entry:
            for pdf in sorted((entry.path / "data" / "print").glob("*/*.pdf")):
                docs.append(
                    (
                        group.get(pdf.parent.name, pdf.parent.name),
                        _DOC_KINDS.get(pdf.stem, pdf.stem),
                        _pages(pdf),
                    )
                )
        if not docs:
            docs = [
                (
                    "",
                    "Электронный журнал" if parsed.kind == "journal" else "Сводные ведомости",
                    None,
                )
            ]
        for class_name, kind, sheets in docs:
            row = {
                "number": len(rows) + 1,
                "class_name": class_name,
                "document_kind": kind,
                "sheets": sheets,
                **common,
            }
            rows.append({key: row[key] for key, _title in REGISTER_COLUMNS})
    return rows


def status_section(config: Config, today: date | None = None) -> dict[str, Any]:
    """For `status`: each bag's last fixity result, due bags and overdue full checks."""
    settings = archive_settings(config)
    today = today or date.today()
    store = store_path(config)
    bags = list_bags(config)
    if not store.exists():
        return {
            "store": str(store),
            "bags": [],
            "problems": 0,
            "due": [],
            "full_checks_overdue": [],
        }
    register = open_register(store)
    try:
        items = []
        for entry in bags:
            last = last_event(register, entry.name)
            full = last_event(register, entry.name, ("ingest", "fixity_full"))
            items.append(
                {
                    "bag": entry.name,
                    "retain_until": entry.retain_until.isoformat() if entry.retain_until else None,
                    "last_check": last["event"] if last else None,
                    "last_check_at": last["at"] if last else None,
                    "last_result": last["result"] if last else None,
                    "last_full_check_at": full["at"] if full else None,
                }
            )
        overdue = plan_full_checks(
            register,
            [e.name for e in bags],
            today,
            per_run=0,
            interval_days=settings.full_check_days,
            run_every_days=0,
        )
    finally:
        register.close()
    return {
        "store": str(store),
        "bags": items,
        "problems": sum(1 for i in items if i["last_result"] == "failed"),
        "due": [e.name for e in bags if e.due(today)],
        "full_checks_overdue": overdue,
    }


def demo_step(
    config_or_paths: Config | Path | str, db: Any, year: str | None = None, *, renderer: Any = None
) -> list[Path]:
    """Archive the demo year: `config_or_paths` is a Config or the store folder; `db` the
    mirror (a path or a sqlite-utils Database); `year` defaults to the mirror's year."""
    from asurso_sync.archive.build import create
    from asurso_sync.config import ArchiveSettings, MirrorSettings

    if isinstance(db, str | Path):
        mirror = Path(db)
    else:
        mirror = Path(db.execute("PRAGMA database_list").fetchone()[2])
    if isinstance(config_or_paths, Config):
        config = config_or_paths
    else:
        store = Path(config_or_paths).resolve()
        config = Config(
            archive=ArchiveSettings(path=str(store)), mirror=MirrorSettings(path=str(mirror))
        )
    if year is None:
        conn = read_only(mirror)
        try:
            row = conn.execute(
                "SELECT name, start_date FROM years WHERE deleted_at IS NULL "
                "ORDER BY start_date DESC LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            raise ArchiveError("the demo mirror holds no school year")
        year = f"{row['start_date'][:4]}/{int(row['start_date'][:4]) + 1}"
    return create(config, year, renderer=renderer, mirror=mirror)


__all__ = [
    "BagEntry",
    "Problem",
    "REGISTER_COLUMNS",
    "copy",
    "demo_step",
    "destroy",
    "due",
    "get",
    "list_bags",
    "register_rows",
    "restore_test",
    "run_full_checks",
    "status_section",
    "verify",
    "DIR_MODE",
    "FILE_MODE",
]
