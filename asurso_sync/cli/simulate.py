"""The `simulate` command: serve the portal simulator, print accounts, or write the ground truth."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import click

from asurso_sync.cli.app import cli
from asurso_sync.errors import ConfigError
from asurso_sync.simulator import (
    QUIRKS,
    FaultSpec,
    build_school,
    ground_truth,
    make_app,
    parse_quirks,
    serve,
)
from asurso_sync.simulator.calendar import school_year_of

QUIRKS_HELP = "Serve real-portal variants (CONTRACT §7): a comma list, or 'all'. " + "; ".join(
    f"{name}: {text}" for name, text in QUIRKS.items()
)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0 = any free port).")
@click.option(
    "--size", default="small", show_default=True, type=click.Choice(["small", "school", "large"])
)
@click.option("--seed", default=1, show_default=True, type=int, help="Generator seed.")
@click.option(
    "--year-start",
    type=int,
    default=None,
    help="School year start (default: the year containing --as-of).",
)
@click.option(
    "--as-of", "as_of", default=None, help="Serve the state at the end of this day (YYYY-MM-DD)."
)
@click.option("--latency-ms", default=0.0, show_default=True, type=float, help="Delay per request.")
@click.option(
    "--faults", default="", help='Fault spec, e.g. "5xx=0.1,timeout=0.05,seed=7,hang_s=2".'
)
@click.option("--quirks", default="", help=QUIRKS_HELP)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="Serve HTTPS with this certificate (PEM; e.g. self-signed). Needs --tls-key.",
)
@click.option(
    "--tls-key", type=click.Path(exists=True, dir_okay=False), help="The certificate's key (PEM)."
)
@click.option(
    "--write-truth",
    "truth_path",
    type=click.Path(dir_okay=False),
    help="Write the ground truth JSON and exit.",
)
@click.option(
    "--accounts", "show_accounts", is_flag=True, help="Print the accounts as JSON and exit."
)
def simulate(
    host: str,
    port: int,
    size: str,
    seed: int,
    year_start: int | None,
    as_of: str | None,
    latency_ms: float,
    faults: str,
    quirks: str,
    tls_cert: str | None,
    tls_key: str | None,
    truth_path: str | None,
    show_accounts: bool,
) -> None:
    """Run the NetSchool portal simulator (a generated school) until Ctrl-C."""
    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        raise ConfigError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    try:
        spec = FaultSpec.parse(faults)
    except ValueError as exc:
        raise ConfigError(f"--faults: {exc}") from None
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    try:
        chosen = parse_quirks(quirks)
    except ValueError as exc:
        raise ConfigError(f"--quirks: {exc}") from None

    school = build_school(size=size, seed=seed, year_start=year_start or school_year_of(day))
    if truth_path:
        truth = ground_truth(school, as_of=day)
        Path(truth_path).write_text(
            json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        click.echo(f"wrote {len(truth['violations'])} violations to {truth_path}")
        return
    app = make_app(school, as_of=day, latency_ms=latency_ms, faults=spec, quirks=chosen)
    if show_accounts:
        click.echo(json.dumps(app.accounts, ensure_ascii=False, indent=1))
        return
    tls = (tls_cert, tls_key) if tls_cert and tls_key else None
    server = serve(app, host=host, port=port, tls=tls)
    click.echo(f"simulator ({size}, seed {seed}, as of {day}) at {server.url}")
    click.echo(
        f"school: {school.name} (short name {school.short_name}, school_id {school.school_id})"
        " — what `init` searches for"
    )
    if spec.active:
        click.echo(f"faults: {spec}")
    if chosen:
        click.echo(f"quirks: {','.join(sorted(chosen))}")
    for acc in app.accounts:
        click.echo(
            f"  {acc['role']:<9} login {acc['login']:<10} password {acc['password']}  school_id {acc['school_id']}"
        )
    click.echo("Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        server.shutdown()
