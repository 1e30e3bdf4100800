"""The `demo` command."""

from __future__ import annotations

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.demo import run_demo


@cli.command()
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default="asurso-demo",
    show_default=True,
    help="Folder for the mirror and what later steps make.",
)
@click.option(
    "--size",
    type=click.Choice(["small", "school", "large"]),
    default="small",
    show_default=True,
    help="How big a simulated school: small (3 classes, ~2 min), school (25 classes, "
    "633 pupils, ~30 min on 2 cores with the PDFs), large (1,500 pupils).",
)
@click.option(
    "--classes",
    "classes",
    multiple=True,
    metavar="NAME",
    help="Only these classes' documents (repeatable), e.g. --classes 5а: a quick sample; "
    "the archive then seals the year without the school's term reports.",
)
@click.pass_obj
def demo(app: App, out: str, size: str, classes: tuple[str, ...]) -> None:
    """Serve a simulated school on 127.0.0.1; sync, check, report and archive it (no config)."""
    ctx = run_demo(out, size=size, classes=classes)
    for line in ctx.lines:
        click.echo(line)
