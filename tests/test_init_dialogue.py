"""`asurso-sync init` walked against the simulator on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import stat
import tomllib

import pytest
from click.testing import CliRunner

from asurso_sync.cli import cli
from asurso_sync.config import load_config, read_login, read_password
from asurso_sync.simulator import make_app, serve


@pytest.fixture(scope="module")
def portal(small_school):
    app = make_app(small_school, as_of=dt.date(2026, 5, 20), latency_ms=0)
    server = serve(app, host="127.0.0.1", port=0)
    yield app, server
    server.shutdown()


def account(app, role):
    return next(a for a in app.accounts if a["role"] == role)


def run(args, input=None, env=None):
    return CliRunner().invoke(cli, args, input=input, env={"ASURSO_PASSWORD": None, **(env or {})})


def test_interactive_dialogue_finds_the_school_rechecks_a_wrong_password_and_writes(
    portal, tmp_path
):
    app, server = portal
    admin = account(app, "admin")
    config = tmp_path / "asurso-sync.toml"
    answers = [server.url, "школа", "1", admin["login"], "не тот пароль", admin["password"]]
    result = run(["--config", str(config), "init"], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert (
        "Schools matching 'школа':\n  1) МБОУ Школа № 3 (id 107)\n  2) МБОУ Школа № 30 (id 108)"
        in out
    )
    assert "School: МБОУ Школа № 3 (id 107)" in out
    assert "The portal refused the login: Неправильный пароль или имя пользователя" in result.stderr
    assert "Login ok (role: Администратор)." in out
    assert admin["password"] not in result.output  # the prompt is hidden
    assert f"  asurso-sync --config {config} sync --full" in out
    assert tomllib.loads(config.read_text(encoding="utf-8")) == {
        "portal": {"base_url": server.url, "school": "МБОУ Школа № 3", "school_id": 107},
        "credentials": {"login": "admin", "password_file": "asurso-sync.password"},
        "mirror": {"path": "asurso.db"},
        "sync": {"timezone": "Europe/Samara"},
    }
    secret = tmp_path / "asurso-sync.password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    loaded = load_config(config)
    assert read_login(loaded.credentials) == "admin"
    assert read_password(loaded.credentials, tmp_path) == admin["password"]
    # what init says to run next works with what it wrote
    synced = run(["--config", str(config), "sync", "--since", "2026-05-01"])
    assert synced.exit_code == 0, synced.output
    assert synced.stdout.startswith("sync ok: run 1 (since)")


def test_every_answer_as_an_option_for_scripts(portal, tmp_path):
    app, server = portal
    multi = account(app, "multirole")  # a teacher who is also a parent
    config = tmp_path / "conf" / "school.toml"
    result = run(
        [
            "--config",
            str(config),
            "init",
            "--portal",
            server.url,
            "--school",
            "МБОУ Школа № 3",
            "--login",
            multi["login"],
            "--mirror",
            "data/mirror.db",
            "--timezone",
            "Europe/Samara",
        ],
        env={"ASURSO_PASSWORD": multi["password"]},
    )
    assert result.exit_code == 0, result.output
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    assert data["portal"] == {
        "base_url": server.url,
        "school": "МБОУ Школа № 3",
        "school_id": 107,
        "role": "Учитель",
    }
    assert data["mirror"] == {"path": "data/mirror.db"}
    assert (config.parent / "asurso-sync.password").read_text(encoding="utf-8") == (
        multi["password"] + "\n"
    )


def test_wrong_password_in_a_script_is_exit_4_and_writes_nothing(portal, tmp_path):
    app, server = portal
    config = tmp_path / "asurso-sync.toml"
    result = run(
        [
            "--config",
            str(config),
            "init",
            "--portal",
            server.url,
            "--school-id",
            "107",
            "--school",
            "Школа",
            "--login",
            "admin",
            "--password",
            "wrong",
        ]
    )
    assert result.exit_code == 4
    assert result.stderr == "Error: Неправильный пароль или имя пользователя\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_ambiguous_school_in_a_script_lists_the_candidates(portal, tmp_path):
    app, server = portal
    result = run(
        [
            "--config",
            str(tmp_path / "c.toml"),
            "init",
            "--portal",
            server.url,
            "--school",
            "Школа",
            "--login",
            "admin",
            "--password",
            "x",
        ]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 2 schools match 'Школа': 1) МБОУ Школа № 3 (id 107); "
        "2) МБОУ Школа № 30 (id 108) — pass --school-id\n"
    )


def test_an_existing_config_is_not_overwritten(tmp_path):
    config = tmp_path / "asurso-sync.toml"
    config.write_text("[mirror]\n", encoding="utf-8")
    result = run(
        [
            "--config",
            str(config),
            "init",
            "--portal",
            "http://127.0.0.1:9",
            "--school",
            "x",
            "--login",
            "a",
            "--password",
            "b",
        ]
    )
    assert result.exit_code == 1
    assert result.stderr == f"Error: {config} already exists; pass --force to replace it\n"
    assert config.read_text(encoding="utf-8") == "[mirror]\n"


def test_a_school_id_needs_no_name(portal, tmp_path):
    app, server = portal
    admin = account(app, "admin")
    config = tmp_path / "asurso-sync.toml"
    args = ["--config", str(config), "init", "--portal", server.url, "--school-id", "107"]
    result = run([*args, "--login", admin["login"]], input=admin["password"] + "\n")
    assert result.exit_code == 0, result.output
    assert "School name" not in result.output  # the id is enough: no question about the name
    assert result.stdout.startswith("School: id 107\nPassword: \nLogin ok (role: Администратор).")
    assert tomllib.loads(config.read_text(encoding="utf-8"))["portal"] == {
        "base_url": server.url,
        "school_id": 107,
    }
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_the_dialogue_asks_again_when_no_school_matches(portal, tmp_path):
    app, server = portal
    admin = account(app, "admin")
    config = tmp_path / "asurso-sync.toml"
    answers = [server.url, "гимназия", "Школа № 30", admin["login"], admin["password"]]
    result = run(["--config", str(config), "--quiet", "init", "--no-check"], "\n".join(answers))
    assert result.exit_code == 0, result.output
    assert "No school on the portal matches 'гимназия'; try another part of the name." in (
        result.stdout
    )
    assert result.stdout.count("School name (or a part of it):") == 2
    assert "School: МБОУ Школа № 30 (id 108)" in result.stdout
    assert tomllib.loads(config.read_text(encoding="utf-8"))["portal"]["school_id"] == 108
