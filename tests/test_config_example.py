"""config.example.toml is a working config: every section parses with its owner's validator."""

import re
import tomllib
from pathlib import Path

from asurso_sync.config import load_config
from asurso_sync.documents.settings import load_report_settings
from asurso_sync.notify import parse_email_settings
from asurso_sync.rules import load_rule_settings
from asurso_sync.schedule.settings import schedule_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def test_example_config_loads_and_every_section_validates():
    config = load_config(EXAMPLE)
    assert config.portal.base_url == "https://asurso.ru"
    assert config.credentials.password_env == "ASURSO_PASSWORD"
    load_rule_settings(config)
    load_report_settings(config)
    schedule_settings(config)


def test_example_email_section_validates_when_uncommented():
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "# [email]")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        if re.match(r"# (\[email\]|\w+ = )", line):  # a commented-out key, not prose
            block.append(line[2:])
    table = tomllib.loads("\n".join(block))["email"]
    parse_email_settings(table)


def test_example_config_holds_no_secret_values():
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "password =" not in text.replace("# password =", "")
