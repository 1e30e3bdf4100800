"""The secretary's operations on sealed bags: list, verify, get, copy, due, destroy.

Every operation only reads a sealed bag, except `destroy`, which removes a whole bag after
the checks the law asks for (due, listed in an approved act). Each check, copy and
destruction is appended to the fixity register.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import bagit

from asurso_sync.archive import fixity
from asurso_sync.archive.build import Progress, recover_interrupted
from asurso_sync.archive.clock import fmt_day, fmt_moment, local_today
from asurso_sync.archive.fixity import Problem, VerifyResult
from asurso_sync.archive.layout import (
    STAGING,
    bag_dirs,
    make_writable,
    read_only,
    refuse_inside_store,
    remove_tree,
    store_lock,
    store_path,
)
from asurso_sync.archive.names import ArchiveError, parse_bag_name, transliterate
from asurso_sync.archive.register import (
    CHECKS,
    GENESIS,
    REGISTER_NAME,
    ChainCheck,
    act_events,
    chain_head,
    check_chain,
    destroyed,
    get_act,
    ingest_digest,
    ingest_record,
    ingest_records,
    last_event,
    log_event,
    media,
    open_register,
    plan_full_checks,
    retention_of,
)
from asurso_sync.archive.settings import archive_settings
from asurso_sync.config import Config
from asurso_sync.documents.register import COLUMNS as REGISTER_COLUMNS

log = logging.getLogger(__name__)
REGISTER_CHECK = "register"  # the name verify's chain check reports under


@dataclass(frozen=True)
class BagEntry:
    """One bag of the store as the secretary sees it. `retain_until` comes from the
    register's ingest record (None when the register has none: such a bag is never due)."""

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
    registered: bool = True

    def due(self, on: date) -> bool:
        return self.retain_until is not None and self.retain_until <= on


def _entries(store: Path, register: sqlite3.Connection) -> list[BagEntry]:
    records = ingest_records(register)
    entries = []
    for path in bag_dirs(store):
        parsed = parse_bag_name(path.name)
        assert parsed is not None
        info_file = path / "bag-info.txt"
        info = fixity.read_tags(info_file) if info_file.exists() else {}
        record = records.get(path.name)
        details = record["details"] if record else {}
        entries.append(
            BagEntry(
                name=path.name,
                path=path,
                kind=parsed.kind,
                school_year=parsed.year.label,
                version=parsed.version,
                retention_class=details.get("retention_class") or info.get("Retention-Class", ""),
                retain_until=retention_of(record),
                supersedes=details.get("supersedes") if record else info.get("Supersedes"),
                superseded_by=None,
                info=info,
                registered=record is not None,
            )
        )
    replaced = {e.supersedes: e.name for e in entries if e.supersedes}
    return [replace(e, superseded_by=replaced.get(e.name)) for e in entries]


def list_bags(config: Config) -> list[BagEntry]:
    """Every sealed bag in the store, with its retention from the register."""
    store = store_path(config)
    if not store.is_dir():
        return []
    register = open_register(store)
    try:
        return _entries(store, register)
    finally:
        register.close()


def find_bag(config: Config, name: str) -> BagEntry:
    _check_name(name)
    for entry in list_bags(config):
        if entry.name == name:
            return entry
    raise ArchiveError(f"no bag {name!r} in {store_path(config)} (see `archive list`)")


def _check_name(name: str) -> None:
    if parse_bag_name(name) is None:
        raise ArchiveError(
            f"{name!r} is not a bag name (ej-<school>-<YYYY>-<YYYY>-<journal|summary>-v<N>, "
            "see `archive list`); to check copies on a medium use --at DIR"
        )


# ---------------------------------------------------------------- fixity


def _check_one(register: sqlite3.Connection, where: Path, name: str, full: bool) -> VerifyResult:
    result = fixity.verify_bag(where / name, full=full, anchor_sha512=ingest_digest(register, name))
    if ingest_record(register, name) is None:
        result.problems.append(
            Problem("unregistered", name, "the register holds no ingest record of this bag")
        )
    return result


def _check_logged(
    register: sqlite3.Connection,
    where: Path,
    name: str,
    full: bool,
    place: Path,
    **details: Any,
) -> VerifyResult:
    """Check one bag and log the fixity event against `place` (the store or a medium), with
    the problems, the files and bytes read and `details` (why it was checked)."""
    result = _check_one(register, where, name, full)
    log_event(
        register,
        "fixity_full" if full else "fixity_fast",
        name,
        place,
        result.ok,
        {
            "problems": [str(p) for p in result.problems],
            "files": result.files,
            "bytes": result.bytes_hashed,
            **details,
        },
    )
    return result


def _chain_result(chain: ChainCheck) -> VerifyResult:
    result = VerifyResult(bag=REGISTER_CHECK, full=True, files=chain.events)
    result.problems.extend(Problem("chain", "register.sqlite", p) for p in chain.problems)
    return result


def verify(
    config: Config,
    bag: str | None = None,
    *,
    full: bool = False,
    at: Path | None = None,
    progress: Progress | None = None,
) -> list[VerifyResult]:
    """Check the register's hash chain, then one bag or all (fast or full); log a fixity
    event per bag against the place checked; never modify a bag.

    A broken chain is the first result (named `register`). `bag` must be a bag name.
    With no bag named, a bag the register saw enter the store and never saw destroyed but
    that is no longer there is reported missing too, and a bag in the store without an
    ingest record is reported `unregistered`. `at` checks the copies on another medium
    (e.g. the safe's USB disk) against the digests the register recorded at ingest.
    """
    store = store_path(config)
    where = Path(at) if at is not None else store
    medium = at is not None and where.resolve() != store.resolve()
    if bag is not None:
        _check_name(bag)
    if at is not None and not where.is_dir():
        raise ArchiveError(f"{where} is not a folder (is the medium mounted?)")
    register = open_register(store)
    try:
        chain = check_chain(register)
        results = [] if chain.ok else [_chain_result(chain)]
        gone = destroyed(register)
        if bag:
            names = [bag]
            if bag in gone and not (where / bag).is_dir():
                act = gone[bag]["details"].get("act")
                raise ArchiveError(
                    f"{bag} was destroyed on {fmt_moment(gone[bag]['at'], config)} "
                    f"under act № {act}"
                )
            if not (where / bag).is_dir() and ingest_record(register, bag) is None:
                raise ArchiveError(f"no bag {bag!r} in {where} (see `archive list`)")
        elif at is not None:
            names = [p.name for p in bag_dirs(where)]
        else:
            present = {p.name for p in bag_dirs(store)}
            names = sorted(present | (set(ingest_records(register)) - set(gone)))
        for i, name in enumerate(names, 1):
            result = _check_logged(
                register,
                where,
                name,
                full,
                where.resolve() if medium else store,
                **({"medium": True} if medium else {}),
            )
            if not result.ok:
                log.warning(
                    "%s failed its %s check at %s: %d problem(s)",
                    name,
                    "full" if full else "fast",
                    where,
                    len(result.problems),
                )
            results.append(result)
            if progress is not None:
                progress(i, len(names), name)
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
            today or local_today(config),
            per_run=settings.full_checks_per_run or None,
            interval_days=settings.full_check_days,
        )
    finally:
        register.close()
    results: list[VerifyResult] = []
    for name in plan:
        for result in verify(config, name, full=True):
            if result.bag == REGISTER_CHECK and any(r.bag == REGISTER_CHECK for r in results):
                continue  # a broken chain is reported once
            results.append(result)
    return results


def _health_row(
    register: sqlite3.Connection, name: str, place: str, medium: str | None
) -> dict[str, Any]:
    last = last_event(register, name, CHECKS, medium=medium)
    full = last_event(register, name, ("ingest", "fixity_full", "copy"), medium=medium)
    return {
        "bag": name,
        "location": place,
        "store": medium is None,
        "last_check": last["event"] if last else None,
        "last_check_at": last["at"] if last else None,
        "result": last["result"] if last else None,
        "fast": bool(last and last["event"] == "fixity_fast"),
        "last_full_check_at": full["at"] if full else None,
        "problems": (last["details"].get("problems") or []) if last else [],
    }


def bag_health(config: Config) -> list[dict[str, Any]]:
    """One row per (bag, location): the store first, then every medium the bag was copied
    to or checked at (`verify --at`, `copy`), destroyed bags left out.

    Keys: bag, location, store (True for the store's row), last_check (the event),
    last_check_at (UTC ISO), result (ok / failed / None), fast (True when that check read
    sizes and manifests only), last_full_check_at, problems (of that check). A copy's
    failure is the copy's row, never the store's.
    """
    store = store_path(config)
    if not (store / REGISTER_NAME).exists():
        return []
    register = open_register(store)
    try:
        gone = destroyed(register)
        names = sorted({p.name for p in bag_dirs(store)} | set(ingest_records(register)))
        rows = []
        for name in names:
            if name in gone:
                continue
            rows.append(_health_row(register, name, str(store), None))
            rows.extend(_health_row(register, name, m, m) for m in media(register, name))
        return rows
    finally:
        register.close()


# ---------------------------------------------------------------- copies out


def _copy_verified(
    src_root: Path, pairs: list[tuple[str, Path]], manifest: dict[str, str]
) -> list[Path]:
    """Copy files of a bag and prove each copy by its SHA-512 from the manifest.

    Each file is copied to a temporary name beside its target (0600 from the start) and
    renamed into place only once its digest matches: a full disk leaves no half file."""
    written = []
    for name, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            shutil.copyfile(src_root / name, tmp)
            os.chmod(tmp, 0o600)
            if fixity.file_sha512(tmp) != manifest[name]:
                raise ArchiveError(f"the copy of {name} does not match the bag's manifest")
            os.replace(tmp, target)
        except OSError as exc:
            raise ArchiveError(
                f"could not copy {name} into {target.parent}: {exc.strerror or exc}"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        written.append(target)
    return written


def get(config: Config, bag: str, out_dir: Path, *, class_name: str | None = None) -> list[Path]:
    """Copy a bag (or one class's printed documents) out of the store, verified.

    The source bag is fully checked first; every copied file is then re-hashed against the
    bag's SHA-512 manifest. Copies are the secretary's working files (0600).
    """
    entry = find_bag(config, bag)
    store = store_path(config)
    refuse_inside_store(store, Path(out_dir), "the output folder")
    register = open_register(store)
    try:
        result = _check_logged(register, store, bag, True, store, **{"for": "get"})
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
    refuse_inside_store(store, to, "the medium")
    if not to.is_dir():
        raise ArchiveError(f"{to} is not a folder (is the medium mounted?)")
    target = to / bag
    if target.exists():
        raise ArchiveError(f"{target} already exists; verify it with `archive verify` instead")
    register = open_register(store)
    try:
        source = _check_one(register, store, bag, False)
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
            to.resolve(),
            result.ok,
            {
                "problems": [str(p) for p in result.problems],
                "files": result.files,
                "bytes": result.bytes_hashed,
                "medium": True,
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


def require_intact_register(config: Config) -> None:
    """Refuse to decide anything about destruction from a register whose chain is broken."""
    store = store_path(config)
    if not (store / REGISTER_NAME).exists():
        return
    register = open_register(store)
    try:
        chain = check_chain(register)
    finally:
        register.close()
    if not chain.ok:
        raise ArchiveError(
            "the archive register's hash chain is broken ("
            + "; ".join(chain.problems[:3])
            + "): nothing is due until this is cleared up; see `archive verify`"
        )


def due(config: Config, on: date | None = None) -> list[BagEntry]:
    """Bags whose retention, as the register recorded it at ingest, has ended on `on`
    (school-local today by default). bag-info.txt is never read for this, and a register
    whose hash chain is broken is refused."""
    on = on or local_today(config)
    require_intact_register(config)
    return [e for e in list_bags(config) if e.due(on)]


def nothing_due(config: Config, on: date | None = None) -> str:
    """The sentence for a store with nothing due: when the first bag falls due."""
    on = on or local_today(config)
    dates = [e.retain_until for e in list_bags(config) if e.retain_until and e.retain_until > on]
    if not dates:
        return "the store holds no bags with a recorded retention"
    return f"no bag is due before {fmt_day(min(dates))}"


def approve_act(config: Config, number: str, by: str) -> dict[str, Any]:
    """Record in the register that act № `number` was approved (signed) by `by`.

    Only an approved act lets `destroy` remove its bags. The approval is one chained
    `act_approve` event per bag of the act; an act is approved once.
    """
    if not by.strip():
        raise ArchiveError("name who approved the act: --by NAME")
    store = store_path(config)
    with store_lock(store):
        register = open_register(store)
        try:
            act = get_act(register, str(number))
            if act is None:
                raise ArchiveError(f"there is no destruction act № {number}")
            done = act_events(register, str(number), "act_approve")
            if done:
                who = done[0]["details"].get("approved_by")
                raise ArchiveError(
                    f"act № {number} was approved by {who} on "
                    f"{fmt_moment(done[0]['at'], config)}; an act is approved once"
                )
            for bag in act["bags"]:
                log_event(
                    register,
                    "act_approve",
                    bag,
                    store,
                    True,
                    {"act": str(number), "approved_by": by},
                )
            return {"number": str(number), "bags": act["bags"], "approved_by": by}
        finally:
            register.close()


def _approved(register: sqlite3.Connection, number: str, bag: str) -> bool:
    drafted = {e["bag"] for e in act_events(register, number, "act_draft")}
    approved = {e["bag"] for e in act_events(register, number, "act_approve")}
    return bag in drafted and bag in approved


def destroy(config: Config, bag: str, act_number: str, *, today: date | None = None) -> dict:
    """Remove a due bag listed in an approved act; log `destroy` with the digest and the act.

    Refuses when the act does not exist, is still a draft or does not list the bag; when the
    register's ingest record says the bag must still be kept; and when the register's chain
    or a full verification of the bag fails (a tampered bag is evidence, not waste). Copies
    on removable media are outside the tool's reach: the act says they go the same way.
    """
    today = today or local_today(config)
    store = store_path(config)
    _check_name(bag)
    with store_lock(store):
        register = open_register(store)
        try:
            recover_interrupted(store, register)
            entry = find_bag(config, bag)
            act = get_act(register, str(act_number))
            if act is None:
                raise ArchiveError(
                    f"there is no destruction act № {act_number} "
                    "(make one with `archive destruction-act`)"
                )
            if bag not in act["bags"] or not act_events(register, str(act_number), "act_draft"):
                raise ArchiveError(f"act № {act_number} does not list {bag}")
            if not _approved(register, str(act_number), bag):
                raise ArchiveError(
                    f"act № {act_number} is a draft: approve it first with "
                    f"`archive destruction-act --approve {act_number} --by NAME`"
                )
            record = ingest_record(register, bag)
            until = retention_of(record)
            if until is None:
                raise ArchiveError(f"the register holds no ingest record of {bag}; not destroyed")
            if until > today:
                raise ArchiveError(
                    f"{bag} must be kept until {fmt_day(until)} (the register's ingest record); "
                    "it cannot be destroyed before then"
                )
            chain = check_chain(register)
            result = _check_logged(register, store, bag, True, store, **{"for": "destroy"})
            problems = [str(p) for p in result.problems] + chain.problems
            if problems:
                raise ArchiveError(
                    f"{bag} failed its full verification, not destroyed (a tampered bag is "
                    "evidence): " + "; ".join(problems[:5])
                )
            anchor_file = entry.path / "tagmanifest-sha512.txt"
            digest = fixity.file_sha512(anchor_file)
            # out of the store in one atomic step, then logged, then deleted: an interrupted
            # run never leaves half a bag among the sealed ones
            doomed = store / STAGING / f"destroy-{bag}"
            doomed.parent.mkdir(mode=0o700, exist_ok=True)
            os.rename(entry.path, doomed)
            details = {
                "act": str(act_number),
                "tagmanifest_sha512": digest,
                "ingest_tagmanifest_sha512": record["details"].get("tagmanifest_sha512")
                if record
                else None,
                "retain_until": until.isoformat(),
            }
            log_event(register, "destroy", bag, store, True, details)
            remove_tree(doomed)
            return {"bag": bag, **details}
        finally:
            register.close()


# ---------------------------------------------------------------- D10 and status


def register_head(config: Config) -> str:
    """The register's chain head: the hash of its last event (D10 and the acts print it)."""
    if not (store_path(config) / REGISTER_NAME).exists():
        return GENESIS
    register = open_register(store_path(config))
    try:
        return chain_head(register)
    finally:
        register.close()


def register_rows(config: Config) -> list[dict[str, Any]]:
    """Rows of the archive register (D10).

    One row per class document per bag, destroyed bags too, read from the register's ingest
    records alone (the bags are not opened). Keys are `documents.register.COLUMNS`' first
    items; `digest` is the SHA-512 of the bag's `tagmanifest-sha512.txt`, the anchor to
    print on the signed paper record (`register_head` anchors the register itself).
    """
    settings = archive_settings(config)
    store = store_path(config)
    if not (store / REGISTER_NAME).exists():
        return []
    register = open_register(store)
    try:
        records = ingest_records(register)
        gone = destroyed(register)
    finally:
        register.close()
    place = settings.place or "электронное хранилище asurso-sync"
    rows: list[dict[str, Any]] = []
    for bag in sorted(records):
        parsed = parse_bag_name(bag)
        if parsed is None:
            continue
        record = records[bag]
        details = record["details"]
        years = settings.journal_years if parsed.kind == "journal" else settings.summary_years
        article = details.get("retention_article") or settings.retention_article
        retention = f"{years} лет" + (f", {article}" if article else "")
        destroyed_event = gone.get(bag)
        until = retention_of(record)
        common = {
            "year": parsed.year.label,
            "transferred_on": fmt_moment(record["at"], config),
            "transferred_by": settings.keeper or record["os_user"],
            "location": place,
            "retention": retention,
            "destroy_from": fmt_day(until),
            "act_number": destroyed_event["details"].get("act") if destroyed_event else "",
            "digest": details.get("tagmanifest_sha512") or "",
            "bag": bag,
        }
        documents = details.get("documents") or [
            {
                "class": "",
                "kind": "Электронный журнал" if parsed.kind == "journal" else "Сводные ведомости",
                "sheets": None,
            }
        ]
        for doc in documents:
            row = {
                "number": len(rows) + 1,
                "class_name": doc.get("class", ""),
                "kind": doc.get("kind", ""),
                "sheets": doc.get("sheets") or "",
                **common,
            }
            rows.append({key: row[key] for key, _title in REGISTER_COLUMNS})
    return rows


def status_section(config: Config, today: date | None = None) -> dict[str, Any]:
    """For `status`: each bag's last check in the store, every copy's separately (`health`,
    see `bag_health`), due bags, overdue full checks and the register's chain."""
    settings = archive_settings(config)
    today = today or local_today(config)
    store = store_path(config)
    empty: dict[str, Any] = {
        "store": str(store),
        "bags": [],
        "health": [],
        "problems": 0,
        "due": [],
        "full_checks_overdue": [],
    }
    if not store.exists():
        return empty
    bags = list_bags(config)
    health = bag_health(config)
    in_store = {h["bag"]: h for h in health if h["store"]}
    register = open_register(store)
    try:
        overdue = plan_full_checks(
            register,
            [e.name for e in bags],
            today,
            per_run=0,
            interval_days=settings.full_check_days,
            run_every_days=0,
        )
        head = chain_head(register)
    finally:
        register.close()
    items = []
    for entry in bags:
        h = in_store.get(entry.name, {})
        items.append(
            {
                "bag": entry.name,
                "retain_until": entry.retain_until.isoformat() if entry.retain_until else None,
                "last_check": h.get("last_check"),
                "last_check_at": h.get("last_check_at"),
                "last_result": h.get("result"),
                "last_full_check_at": h.get("last_full_check_at"),
                "copies": [
                    {k: c[k] for k in ("location", "last_check", "last_check_at", "result", "fast")}
                    for c in health
                    if c["bag"] == entry.name and not c["store"]
                ],
            }
        )
    return {
        **empty,
        "bags": items,
        "health": health,
        "problems": sum(1 for h in health if h["result"] == "failed"),
        "due": [e.name for e in bags if e.due(today)],
        "full_checks_overdue": overdue,
        "chain_head": head,
    }


__all__ = [
    "REGISTER_COLUMNS",
    "BagEntry",
    "Problem",
    "approve_act",
    "bag_health",
    "copy",
    "destroy",
    "due",
    "get",
    "list_bags",
    "nothing_due",
    "register_head",
    "register_rows",
    "restore_test",
    "run_full_checks",
    "status_section",
    "verify",
]
