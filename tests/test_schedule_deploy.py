"""What the administrator installs: the systemd units, the cron line, the example config."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from asurso_sync.cli import cli
from asurso_sync.config import CredentialSettings, parse_config, read_password
from asurso_sync.errors import ConfigError
from asurso_sync.notify import email_settings
from asurso_sync.schedule import ScheduleSettings, parse_schedule_settings, schedule_settings

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "docs" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name, encoding="utf-8")
    return parser


def exec_args(parser) -> list[str]:
    return shlex.split(parser["Service"]["ExecStart"])[1:]


def test_timer_unit_runs_the_due_jobs_once_with_the_password_as_a_credential():
    service = unit("asurso-sync.service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["LoadCredential"] == "password:/etc/asurso-sync/password"
    assert exec_args(service) == [
        "--config",
        "/etc/asurso-sync/asurso-sync.toml",
        "-q",
        "schedule",
        "--once",
    ]
    assert service["Service"]["UMask"] == "0077"
    timer = unit("asurso-sync.timer")
    assert timer["Timer"]["Unit"] == "asurso-sync.service"
    assert timer["Timer"]["Persistent"] == "true"
    scheduler = unit("asurso-sync-scheduler.service")
    assert exec_args(scheduler)[-1] == "schedule"


@pytest.mark.parametrize("name", ["asurso-sync.service", "asurso-sync-scheduler.service"])
def test_unit_command_lines_parse_with_our_cli(name):
    args = exec_args(unit(name))
    ctx = cli.make_context("asurso-sync", list(args))  # the group's options parse
    name, sub, rest = cli.resolve_command(ctx, args[args.index("schedule") :])
    assert name == "schedule"
    once = rest == ["--once"]
    sub_ctx = sub.make_context(name, list(rest), parent=ctx)  # and the command's
    assert sub_ctx.params["once"] is once


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_units_pass_systemd_analyze_verify():
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(p) for p in sorted(UNITS.iterdir()))],
        capture_output=True,
        text=True,
        cwd=UNITS,
    )
    problems = [
        ln
        for ln in (result.stdout + result.stderr).splitlines()
        if ln.strip() and "is not executable" not in ln
    ]  # /opt/... is not installed here
    assert problems == []


def test_systemd_credential_is_what_the_config_code_reads(tmp_path, monkeypatch):
    (tmp_path / "password").write_text("Пароль-из-systemd\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("ASURSO_PASSWORD", raising=False)
    assert read_password(CredentialSettings()) == "Пароль-из-systemd"


def test_example_config_shows_the_schedule_defaults_and_a_valid_email_section():
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert parse_schedule_settings(data["schedule"]) == ScheduleSettings()
    assert schedule_settings(parse_config(data)) == ScheduleSettings()
    # the commented [email] block, uncommented, is a valid section with the defaults shown
    start = text.index("# [email]")
    block = text[start : text.index("\n[", start)]  # up to the next live section
    lines = [
        ln[2:] for ln in block.splitlines() if re.match(r"# [a-z_]+ = ", ln) or ln == "# [email]"
    ]
    email = tomllib.loads("\n".join(lines))
    settings = email_settings(parse_config(email))
    assert (settings.host, settings.port, settings.to, settings.sender, settings.password_env) == (
        "smtp.school.example",
        587,
        ("zam-uvr@school.example",),
        "asurso-sync@school.example",
        "ASURSO_SMTP_PASSWORD",
    )


def test_unknown_report_kind_in_schedule_is_a_config_error():
    config = parse_config({"schedule": {"monthly_reports": ["remarks", "gossip"]}})
    with pytest.raises(ConfigError, match=r"\[schedule\] monthly_reports: unknown document"):
        schedule_settings(config)


def test_under_cron_a_failed_sync_is_exit_1_and_exactly_one_line_on_stderr(tmp_path):
    from click.testing import CliRunner

    path = tmp_path / "asurso-sync.toml"
    path.write_text(
        '[mirror]\npath = "m.db"\n[credentials]\nlogin_env = "ASURSO_CRON_LOGIN"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["--config", str(path), "-q", "sync"], env={"ASURSO_CRON_LOGIN": None}
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: no portal login: set $ASURSO_CRON_LOGIN or [credentials] login in the config\n"
    )
