"""The `archive` command group: the secretary's year-end archive (reference/domain.md §3)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from asurso_sync import archive as arch
from asurso_sync.archive.clock import fmt_day, fmt_moment
from asurso_sync.cli.app import App, cli
from asurso_sync.cli.progress import Progress


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2030-01-01") from None


@cli.group()
def archive() -> None:
    """Sealed year-end snapshots (BagIt), fixity checks, retention and destruction acts."""


@archive.command()
@click.option("--year", required=True, help="School year, e.g. 2025/2026.")
@click.option(
    "--supersedes",
    "supersedes",
    multiple=True,
    metavar="BAG",
    help="Make a corrected new version of this bag (repeatable); it stays as is.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Seal a year whose last term has not ended or that was not synced since its end.",
)
@click.option(
    "--yes",
    is_flag=True,
    help="Do not ask when classes, pupils or groups vanished in the year's last 30 days.",
)
@click.pass_obj
def create(app: App, year: str, supersedes: tuple[str, ...], force: bool, yes: bool) -> None:
    """Seal the year's journal (5 years) and summary (25 years) bags into the store."""
    ready = arch.readiness(app.config, year)
    if ready.blockers:
        if not force:
            raise click.ClickException(
                f"not sealing {ready.year}: "
                + "; ".join(ready.blockers)
                + " (--force seals it anyway)"
            )
        for reason in ready.blockers:
            click.echo(f"Warning: {reason} (sealing anyway: --force)", err=True)
    for warning in ready.deletions:
        click.echo(f"Warning: {warning}", err=True)
    if ready.deletions and not yes:
        if not sys.stdin.isatty():
            raise click.ClickException(
                "check the portal, then run again with --yes to seal the year as it is"
            )
        click.confirm("Seal the year as the mirror holds it now?", abort=True)
    progress = Progress("archive create", quiet=app.quiet, unit="steps")
    try:
        made = arch.create(
            app.config,
            year,
            supersedes=supersedes,
            force=force,
            accept_deletions=True,
            progress=progress,
        )
    finally:
        progress.close()
    for path in made:
        click.echo(str(path))


def _check_text(row: dict[str, Any], config: Any) -> str:
    if not row["last_check"]:
        return "never checked"
    result = "OK" if row["result"] == "ok" else "FAILED"
    if result == "OK" and row["fast"]:
        result = "OK (fast: sizes and manifests)"
    return f"{result} {fmt_moment(row['last_check_at'], config)}"


@archive.command(name="list")
@click.pass_obj
def list_(app: App) -> None:
    """The bags with their retention, and the last check of the store and of every copy."""
    bags = arch.list_bags(app.config)
    health = arch.bag_health(app.config)
    if not bags and not health:
        click.echo("the store holds no bags")
        return
    click.echo("bag\tyear\tretention\tkeep until\tlocation\tlast check")
    by_bag: dict[str, list[dict[str, Any]]] = {}
    for row in health:
        by_bag.setdefault(row["bag"], []).append(row)
    for bag in bags:
        note = f" (superseded by {bag.superseded_by})" if bag.superseded_by else ""
        if not bag.registered:
            note += " (no ingest record in the register)"
        rows = by_bag.get(bag.name) or []
        for i, row in enumerate(rows):
            place = "store" if row["store"] else f"copy {row['location']}"
            head = (
                f"{bag.name}\t{bag.school_year}\t{bag.retention_class}\t{fmt_day(bag.retain_until)}"
                if i == 0
                else "\t\t\t"
            )
            click.echo(f"{head}\t{place}\t{_check_text(row, app.config)}{note if i == 0 else ''}")
    present = {b.name for b in bags}
    for name in sorted({r["bag"] for r in health} - present):
        click.echo(f"{name}\t\t\t\tstore\tMISSING (in the register, not in the store)")


@archive.command()
@click.argument("bag", required=False)
@click.option("--full", is_flag=True, help="Re-hash every file against every manifest.")
@click.option(
    "--at",
    "at",
    type=click.Path(file_okay=False, path_type=Path),
    help="Check the copies on this medium instead of the store.",
)
@click.pass_obj
def verify(app: App, bag: str | None, full: bool, at: Path | None) -> None:
    """Check the register's chain and the bags (fast: sizes and manifests; --full: every
    file re-hashed); exit 1 when anything is wrong. BAG is a bag name, never a folder."""
    progress = Progress("archive verify", quiet=app.quiet, unit="files") if full else None
    try:
        results = arch.verify(app.config, bag, full=full, at=at, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    bad = 0
    how = "OK (full: every file re-hashed)" if full else "OK (fast: sizes and manifests)"
    for result in results:
        if result.ok:
            click.echo(f"{how}\t{result.bag}")
            continue
        bad += 1
        click.echo(f"FAILED\t{result.bag}")
        for problem in result.problems:
            click.echo(f"  {problem}")
    if not [r for r in results if r.bag != "register"]:
        click.echo(f"{at or 'the store'} holds no bags")
    if all(r.bag != "register" for r in results):
        click.echo(f"register: hash chain intact, head {arch.register_head(app.config)}")
    if bad:
        click.echo(f"Error: {bad} check(s) failed ({'full' if full else 'fast'})", err=True)
        raise click.exceptions.Exit(1)


@archive.command()
@click.argument("bag")
@click.option("--class", "class_name", help="Only this class's documents, e.g. 5а.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to copy into (never inside the store).",
)
@click.pass_obj
def get(app: App, bag: str, class_name: str | None, out_dir: Path) -> None:
    """Copy a bag (or one class's documents) out of the store, verified."""
    for path in arch.get(app.config, bag, out_dir, class_name=class_name):
        click.echo(str(path))


@archive.command()
@click.argument("bag")
@click.option(
    "--to",
    "to",
    type=click.Path(file_okay=False, path_type=Path),
    help="The mounted medium (default: [archive] safe_path).",
)
@click.pass_obj
def copy(app: App, bag: str, to: Path | None) -> None:
    """Copy a bag onto removable media and verify the copy."""
    result = arch.copy(app.config, bag, to)
    if not result.ok:
        for problem in result.problems:
            click.echo(f"  {problem}")
        click.echo(f"Error: the copy of {bag} failed verification", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"copied and verified {bag}: {result.files} files, {result.bytes_hashed} bytes")


@archive.command(name="restore-test")
@click.argument("bag")
@click.pass_obj
def restore_test(app: App, bag: str) -> None:
    """Restore drill: unpack a bag elsewhere, validate it, open its database."""
    problems = arch.restore_test(app.config, bag)
    for problem in problems:
        click.echo(f"  {problem}")
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(f"restore test of {bag}: OK")


@archive.command()
@click.option("--on", "on", callback=_date, help="Date to check (default: today, school time).")
@click.pass_obj
def due(app: App, on: date | None) -> None:
    """Bags whose retention term (as the register recorded it at ingest) has ended."""
    bags = arch.due(app.config, on)
    for bag in bags:
        click.echo(f"{bag.name}\t{bag.retention_class}\tkeep until {fmt_day(bag.retain_until)}")
    if not bags:
        click.echo(arch.nothing_due(app.config, on))


@archive.command(name="destruction-act")
@click.option("--on", "on", callback=_date, help="Date of the act (default: today, school time).")
@click.option("--number", help="Act number (default: the next free one).")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the HTML and PDF (default: <store>/acts).",
)
@click.option("--approve", "approve", metavar="N", help="Record that act № N was approved.")
@click.option("--by", "by", metavar="NAME", help="Who approved the act (with --approve).")
@click.pass_obj
def destruction_act(
    app: App,
    on: date | None,
    number: str | None,
    out_dir: Path | None,
    approve: str | None,
    by: str | None,
) -> None:
    """Draft the act of selection for destruction of the due bags (HTML and PDF/A), or,
    with --approve N --by NAME, record that the signed act № N was approved."""
    if approve is not None:
        if not by:
            raise click.UsageError("--approve needs --by NAME (who approved the act)")
        done = arch.approve_act(app.config, approve, by)
        click.echo(
            f"act № {done['number']} approved by {done['approved_by']}: "
            f"{len(done['bags'])} bag(s) may now be destroyed"
        )
        return
    if by:
        raise click.UsageError("--by goes with --approve N")
    if not arch.due(app.config, on):
        click.echo(arch.nothing_due(app.config, on))
        return
    act = arch.destruction_act(app.config, on=on, number=number, out_dir=out_dir)
    click.echo(f"DRAFT act № {act['number']}: {len(act['bags'])} bag(s)")
    click.echo(f"register chain head: {act['chain_head']}")
    for path in (act["html"], act["pdf"]):
        if path:
            click.echo(str(path))
    click.echo(
        f"after it is signed: asurso-sync archive destruction-act --approve {act['number']} "
        "--by NAME"
    )


@archive.command()
@click.argument("bag")
@click.option("--act", "act", required=True, help="Number of the approved destruction act.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def destroy(app: App, bag: str, act: str, yes: bool) -> None:
    """Destroy a due bag listed in an approved act (verified first, logged; no undo)."""
    if not yes:
        click.confirm(f"Destroy {bag} under act № {act}? This cannot be undone", abort=True)
    done = arch.destroy(app.config, bag, act)
    click.echo(
        f"destroyed {done['bag']} (act № {done['act']}, "
        f"tagmanifest SHA-512 {done['tagmanifest_sha512']})"
    )
