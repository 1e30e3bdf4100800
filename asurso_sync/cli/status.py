"""The `status` command."""

from __future__ import annotations

import json

import click

from asurso_sync.cli import App, cli


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def status(app: App, as_json: bool) -> None:
    """Last sync runs, row counts, open violations and archive health."""
    from asurso_sync.status import collect_status

    path = app.config.mirror_path
    data = collect_status(app.config)  # sync health, jobs, violations, archive, disk use
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(render_status(data, str(path)))


def render_status(data: dict, path: str) -> str:
    health = data["health"]
    lines = [
        f"mirror: {path}",
        f"sync: {health['state']} (last ok run {health['last_ok_run']} at "
        f"{health['last_ok_at']}; {health['failed_since_last_ok']} failed since)",
    ]
    for run in data["runs"]:
        line = (
            f"  run {run['id']}: {run['status']} {run['mode']} started {run['started_at']}"
            f" journals={run['journals']} requests={run['requests']}"
        )
        if run["error"]:
            line += f" — {run['error']}"
        lines.append(line)
    lines.append("rows (live / marked deleted):")
    for table, counts in data["tables"].items():
        if counts["rows"] or counts["deleted"]:
            lines.append(f"  {table}: {counts['rows']} / {counts['deleted']}")
    from asurso_sync.status import render_ops

    lines.extend(render_ops(data))  # jobs, violations, archive health, disk use
    return "\n".join(lines)
