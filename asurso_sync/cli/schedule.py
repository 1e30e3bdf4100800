"""The `schedule` command: run the nightly and periodic jobs (service), or once (cron)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.schedule import Scheduler, job_lines, local_time, next_job_line, runs


def cron_line(app: App) -> str:
    """A crontab line that runs the due jobs every 15 minutes (the jobs keep their own times)."""
    exe = shutil.which("asurso-sync") or str(Path(sys.executable).parent / "asurso-sync")
    config = app.config.path
    if config is None:  # defaults or ./asurso-sync.toml: run where the user stands now
        return f"*/15 * * * * cd {Path.cwd()} && {exe} -q schedule --once"
    return f"*/15 * * * * {exe} --config {config} -q schedule --once"


@cli.command()
@click.option(
    "--once",
    is_flag=True,
    help="Run the jobs that are due (missed since their last run) and exit: for cron "
    "and systemd timers. Exit 1 with one line on stderr when a job fails; a job the sync "
    "lock keeps busy waits for the next run (exit 0).",
)
@click.option(
    "--list",
    "list_jobs",
    is_flag=True,
    help="Show each job's schedule, last run and next run, then exit.",
)
@click.option("--json", "as_json", is_flag=True, help="With --list: print JSON.")
@click.option("--print-cron", is_flag=True, help="Print a crontab line for --once and exit.")
@click.pass_obj
def schedule(app: App, once: bool, list_jobs: bool, as_json: bool, print_cron: bool) -> None:
    """Run the nightly sync + checks, the weekly/monthly/term reports and the archive's fixity
    checks at their times in the school's time zone, until stopped (Ctrl-C, SIGTERM)."""
    if sum((once, list_jobs, print_cron)) > 1:
        raise click.UsageError("use only one of --once, --list, --print-cron")
    if print_cron:
        click.echo(cron_line(app))
        return
    scheduler = Scheduler(app.config)
    tz = scheduler.settings.tz
    if list_jobs:
        rows = scheduler.overview()
        if as_json:
            click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            click.echo("\n".join(job_lines(rows, tz)))
        return
    if once:
        done = scheduler.run_once()
        if app.quiet:
            return
        for row in done:
            line = f"{row['job']}: {row['status']} (slot {local_time(row['scheduled_for'], tz)})"
            if row["status"] == runs.BUSY:
                line += f" — {row['error']}; it runs at the next tick once the lock is free"
            click.echo(line)
        if not done:
            click.echo(next_job_line(scheduler.overview(), tz, scheduler.clock()))
        return
    scheduler.run_forever()
