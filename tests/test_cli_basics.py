"""The command line's frame: help, version, and errors as one line with an exit code."""

import click
from click.testing import CliRunner

from asurso_sync.cli.app import App, _Group, cli
from asurso_sync.errors import AuthError, ConfigError


def test_help_lists_every_spec_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ["demo", "simulate", "sync", "status", "check", "report", "archive", "schedule"]:
        assert command in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("asurso-sync, version ")


def _group_raising(exc):
    """A group built like `cli` whose only command raises `exc`."""

    @click.group(cls=_Group)
    @click.option("-v", "--verbose", count=True)
    @click.pass_context
    def group(ctx, verbose):
        ctx.obj = App(verbosity=verbose)

    @group.command(name="boom")
    def boom():
        raise exc

    return group


def test_domain_errors_are_one_line_and_their_exit_code():
    result = CliRunner().invoke(
        _group_raising(AuthError("Неправильный пароль или имя пользователя")), ["boom"]
    )
    assert result.exit_code == 4
    assert result.stderr == "Error: Неправильный пароль или имя пользователя\n"
    result = CliRunner().invoke(
        _group_raising(ConfigError("[portal] has unknown key(s): x")), ["boom"]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr


def test_unexpected_errors_do_not_print_a_traceback_without_v():
    group = _group_raising(ZeroDivisionError("boom"))
    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == "Error: unexpected ZeroDivisionError: boom (run with -v for details)"
    )
    result = CliRunner().invoke(group, ["-v", "boom"])
    assert "Traceback" in result.stderr


def test_usage_errors_exit_2():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.stderr
