"""The `archive` command group: the secretary's year-end archive (reference/domain.md §3)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from asurso_sync.cli.app import App, cli


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
@click.pass_obj
def create(app: App, year: str, supersedes: tuple[str, ...]) -> None:
    """Seal the year's journal (5 years) and summary (25 years) bags into the store."""
    from asurso_sync.archive import create as create_bags

    for path in create_bags(app.config, year, supersedes=supersedes):
        click.echo(str(path))


@archive.command(name="list")
@click.pass_obj
def list_(app: App) -> None:
    """The bags in the store with their retention and last check."""
    from asurso_sync.archive import list_bags, status_section

    checks = {b["bag"]: b for b in status_section(app.config)["bags"]}
    for bag in list_bags(app.config):
        last = checks.get(bag.name, {})
        flags = f" superseded by {bag.superseded_by}" if bag.superseded_by else ""
        click.echo(
            f"{bag.name}\t{bag.school_year}\t{bag.retention_class}\t"
            f"until {bag.retain_until}\tlast check {last.get('last_check_at') or '-'} "
            f"{last.get('last_result') or ''}{flags}"
        )


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
    """Check bags (fast: Payload-Oxum and completeness); exit 1 when anything is wrong."""
    from asurso_sync.archive import verify as verify_bags

    results = verify_bags(app.config, bag, full=full, at=at)
    bad = 0
    for result in results:
        if result.ok:
            click.echo(f"OK\t{result.bag}")
            continue
        bad += 1
        click.echo(f"FAILED\t{result.bag}")
        for problem in result.problems:
            click.echo(f"  {problem}")
    if not results:
        click.echo("the store holds no bags")
    if bad:
        click.echo(f"Error: {bad} bag(s) failed the {'full' if full else 'fast'} check", err=True)
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
    help="Folder to copy into.",
)
@click.pass_obj
def get(app: App, bag: str, class_name: str | None, out_dir: Path) -> None:
    """Copy a bag (or one class's documents) out of the store, verified."""
    from asurso_sync.archive import get as get_bag

    for path in get_bag(app.config, bag, out_dir, class_name=class_name):
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
    from asurso_sync.archive import copy as copy_bag

    result = copy_bag(app.config, bag, to)
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
    from asurso_sync.archive import restore_test as drill

    problems = drill(app.config, bag)
    for problem in problems:
        click.echo(f"  {problem}")
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(f"restore test of {bag}: OK")


@archive.command()
@click.option("--on", "on", callback=_date, help="Date to check (default: today).")
@click.pass_obj
def due(app: App, on: date | None) -> None:
    """Bags whose retention term has ended (Retain-Until on or before the date)."""
    from asurso_sync.archive import due as due_bags

    for bag in due_bags(app.config, on):
        click.echo(f"{bag.name}\t{bag.retention_class}\tuntil {bag.retain_until}")


@archive.command(name="destruction-act")
@click.option("--on", "on", callback=_date, help="Date of the act (default: today).")
@click.option("--number", help="Act number (default: the next free one).")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the HTML and PDF (default: <store>/acts).",
)
@click.pass_obj
def destruction_act(app: App, on: date | None, number: str | None, out_dir: Path | None) -> None:
    """Draft the act of selection for destruction of the due bags (HTML and PDF)."""
    from asurso_sync.archive import destruction_act as draft

    act = draft(app.config, on=on, number=number, out_dir=out_dir)
    click.echo(f"DRAFT act № {act['number']}: {len(act['bags'])} bag(s)")
    for path in (act["html"], act["pdf"]):
        if path:
            click.echo(str(path))


@archive.command()
@click.argument("bag")
@click.option("--act", "act", required=True, help="Number of the approved destruction act.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def destroy(app: App, bag: str, act: str, yes: bool) -> None:
    """Destroy a due bag listed in an approved act (logged; cannot be undone)."""
    from asurso_sync.archive import destroy as destroy_bag

    if not yes:
        click.confirm(f"Destroy {bag} under act № {act}? This cannot be undone", abort=True)
    done = destroy_bag(app.config, bag, act)
    click.echo(
        f"destroyed {done['bag']} (act № {done['act']}, "
        f"tagmanifest SHA-512 {done['tagmanifest_sha512']})"
    )
