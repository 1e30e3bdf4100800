"""`users` and `serve` on the command line: passwords never on the command line, a teacher's
account tied to the mirror's teacher, network exposure only with TLS or a proxy."""

from __future__ import annotations

import stat

import pytest
from click.testing import CliRunner
from documents_fixture import build_documents_mirror
from sqlite_utils import Database

from asurso_sync.cli import cli
from asurso_sync.errors import AsursoSyncError
from asurso_sync.web.accounts import LoginRefused, authenticate, open_accounts
from asurso_sync.web.demo import step_web
from asurso_sync.web.serve import check_exposure

SECRET = "a long enough secret"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    build_documents_mirror(tmp_path / "asurso.db").close()
    (tmp_path / "asurso-sync.toml").write_text('[mirror]\npath = "asurso.db"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASURSO_SYNC_CONFIG", raising=False)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def test_users_add_list_passwd_disable(folder):
    r = run("users", "add", "zavuch", "--role", "deputy", env={"ASURSO_WEB_PASSWORD": SECRET})
    assert r.exit_code == 0, r.output
    assert r.stdout == "added zavuch (заместитель директора)\n"
    # from the prompt, typed twice, not echoed
    r = run(
        "users",
        "add",
        "petrova",
        "--role",
        "teacher",
        "--teacher",
        "петрова",
        input=f"{SECRET}\n{SECRET}\n",
        env={"ASURSO_WEB_PASSWORD": ""},
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.endswith("added petrova (учитель): Петрова Мария Ивановна\n")
    assert SECRET not in r.stdout
    web = folder / "web.db"
    assert stat.S_IMODE(web.stat().st_mode) == 0o600
    row = (
        Database(web)
        .execute(
            "SELECT login, role, teacher_id, teacher_name, password_hash LIKE '$argon2id$%' "
            "FROM users WHERE login = 'petrova'"
        )
        .fetchone()
    )
    assert row == ("petrova", "teacher", 201, "Петрова Мария Ивановна", 1)
    r = run("users", "list")
    assert r.stdout.splitlines() == [
        "petrova              teacher    active    Петрова Мария Ивановна",
        "zavuch               deputy     active  ",
    ]
    r = run("users", "passwd", "zavuch", env={"ASURSO_WEB_PASSWORD": "another long secret"})
    assert r.exit_code == 0 and r.stdout == "password of zavuch changed\n"
    accounts = open_accounts(web)
    assert authenticate(accounts, "zavuch", "another long secret").role == "deputy"
    r = run("users", "disable", "zavuch")
    assert r.exit_code == 0 and r.stdout == "zavuch disabled\n"
    with pytest.raises(LoginRefused):
        authenticate(accounts, "zavuch", "another long secret")
    assert "disabled" in run("users", "list").stdout.splitlines()[1]


def test_users_add_refusals(folder):
    env = {"ASURSO_WEB_PASSWORD": SECRET}
    r = run("users", "add", "x", "--role", "teacher", env=env)
    assert r.exit_code == 1 and "needs --teacher" in r.stderr
    r = run("users", "add", "x", "--role", "teacher", "--teacher", "Нетакого", env=env)
    assert r.exit_code == 1 and "no teacher matching" in r.stderr
    r = run("users", "add", "x", "--role", "deputy", env={"ASURSO_WEB_PASSWORD": "short"})
    assert r.exit_code == 1 and "at least 10 characters" in r.stderr
    r = run("users", "add", "x", "--role", "deputy", "--password", SECRET)
    assert r.exit_code == 2  # there is no such option: a password never goes on the command line
    assert run("users", "add", "x", "--role", "deputy", env=env).exit_code == 0
    r = run("users", "add", "x", "--role", "deputy", env=env)
    assert r.exit_code == 1 and "already an account" in r.stderr


def test_serve_binds_loopback_and_needs_tls_or_proxy_on_the_network(folder):
    check_exposure("127.0.0.1", None, None, False)
    check_exposure("::1", None, None, False)
    check_exposure("0.0.0.0", "cert.pem", "key.pem", False)
    check_exposure("192.168.1.10", None, None, True)
    with pytest.raises(AsursoSyncError, match="--certfile/--keyfile"):
        check_exposure("0.0.0.0", None, None, False)
    with pytest.raises(AsursoSyncError, match="both --certfile and --keyfile"):
        check_exposure("127.0.0.1", "cert.pem", None, False)
    r = run("serve", "--host", "0.0.0.0")
    assert r.exit_code == 1 and "reverse proxy" in r.stderr


def test_demo_step_makes_an_account_and_prints_the_serve_command(tmp_path):
    class Ctx:
        out = tmp_path
        lines: list[str] = []

        def say(self, line: str) -> None:
            self.lines.append(line)

    ctx = Ctx()
    step_web(ctx)
    password = (tmp_path / "web-demo-password.txt").read_text(encoding="utf-8").strip()
    assert stat.S_IMODE((tmp_path / "web-demo-password.txt").stat().st_mode) == 0o600
    out = tmp_path.resolve()
    assert ctx.lines == [
        f"web page: login demo, password {password} (also in {tmp_path / 'web-demo-password.txt'}); "
        "serve it with:",
        f"  asurso-sync serve --mirror {out}/asurso.db --archive {out}/archive_store",
        "  then open http://127.0.0.1:8765/ in a browser on this computer",
    ]
    assert authenticate(open_accounts(tmp_path / "web.db"), "demo", password).role == "admin"
