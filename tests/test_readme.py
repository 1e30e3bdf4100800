"""The README is the user guide: every command and option must be in it."""

from __future__ import annotations

import re
from pathlib import Path

import click

from asurso_sync.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    """(path, command) for every command and sub-command."""
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path)


def options(cmd: click.Command) -> list[str]:
    """The long spelling of each option (the short one when it has no long one)."""
    out = []
    for p in cmd.params:
        if isinstance(p, click.Option) and p.name != "help":
            spellings = p.opts + p.secondary_opts
            longs = [s for s in spellings if s.startswith("--")]
            out.extend(longs or spellings)
    return out


def reference_rows() -> dict[str, str]:
    """Command reference table: first cell's command path -> the options cell."""
    section = README[README.index("## Command reference") :]
    section = section[: section.index("\n## ", 1)]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| `([a-z-]+(?: [a-z-]+)?)(?: [A-Z]+| \[[A-Z]+\])*` \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_every_command_is_in_the_command_reference_with_all_its_options():
    rows = reference_rows()
    missing = []
    for path, cmd in commands():
        name = " ".join(path)
        if isinstance(cmd, click.Group):
            assert any(k.startswith(name + " ") for k in rows), f"no row for `{name} …`"
            continue
        if name not in rows:
            missing.append(f"command `{name}`")
            continue
        missing += [f"`{name}` option {o}" for o in options(cmd) if f"`{o}" not in rows[name]]
    assert missing == []


def test_every_command_is_explained_outside_the_table_too():
    body = README[: README.index("## Command reference")]
    absent = [
        " ".join(p)
        for p, cmd in commands()
        if not isinstance(cmd, click.Group) and f"asurso-sync {' '.join(p)}" not in body
    ]
    assert absent == []


def test_global_options_are_documented():
    start = README.index("`asurso-sync [--config PATH]")
    paragraph = README[start : README.index("\n\n", start)]
    assert [o for o in options(cli) if o not in paragraph] == []


def test_the_two_setup_commands_come_first():
    lines = README.splitlines()
    first_section = next(i for i, ln in enumerate(lines) if ln.startswith("## "))
    assert lines[first_section] == "## Set-up (two commands)"
    assert ".venv/bin/asurso-sync demo --out demo-out" in lines[first_section + 5]


def test_the_roles_and_the_russian_quick_start_are_there():
    for heading in (
        "## Быстрый старт",
        "## Administrator",
        "## Deputy director",
        "## Secretary",
        "## Browsing the mirror with Datasette",
        "## Developers",
    ):
        assert heading in README.splitlines(), heading
    assert "--host 127.0.0.1" in README and "new" in README and "fixed" in README


def test_ci_runs_the_developers_checks_and_the_readmes_test_command_verbatim():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    setup = README[README.index("Run the tests:") :]
    test_command = setup[setup.index("```bash\n") + 8 : setup.index("\n```")]
    assert test_command in ci.splitlines()
    developers = README[README.index("## Developers") :]
    for check in (
        ".venv/bin/ruff check asurso_sync tests bench",
        ".venv/bin/ruff format --check asurso_sync tests bench",
        ".venv/bin/mypy",
    ):
        assert check in developers and check in ci.splitlines(), check
    assert "libharfbuzz-subset0" in ci and "libharfbuzz-subset0" in README
