"""ESIA, honestly (issue 11 item 5): a browser session imported with `login --session-from`,
kept 0600, touched by `login --keep-alive`, and exit 4 once the portal has ended it."""

from __future__ import annotations

import datetime as dt
import json

import httpx
from click.testing import CliRunner
from simclient import account, login

from asurso_sync.cli import cli
from asurso_sync.simulator import make_app
from asurso_sync.simulator.server import serve


def write_config(folder, url, acc):
    path = folder / "asurso-sync.toml"
    path.write_text(
        f'[portal]\nbase_url = "{url}"\nschool_id = {acc["school_id"]}\nmax_retries = 1\n'
        '[mirror]\npath = "asurso.db"\n',
        encoding="utf-8",
    )
    return path


def test_imported_session_is_kept_0600_used_by_doctor_and_expires_with_exit_4(
    small_school, tmp_path
):
    app = make_app(small_school, as_of=dt.date.today())
    acc = account(app, "admin")
    with serve(app) as server:
        with httpx.Client(base_url=server.url, headers={"Referer": server.url + "/"}) as browser:
            answer = login(browser, acc).json()
            cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        source = tmp_path / "browser.txt"
        source.write_text(f"at: {answer['at']}\ncookie: {cookies}\n", encoding="utf-8")
        config = write_config(tmp_path, server.url, acc)
        runner = CliRunner()
        imported = runner.invoke(
            cli, ["--config", str(config), "login", "--session-from", str(source)]
        )
        kept = tmp_path / "asurso.db.session.json"
        no_password = {"ASURSO_LOGIN": "", "ASURSO_PASSWORD": ""}
        doctor = runner.invoke(cli, ["--config", str(config), "doctor", "--json"], env=no_password)
        synced = runner.invoke(cli, ["--config", str(config), "sync"], env=no_password)
        alive = runner.invoke(cli, ["--config", str(config), "login", "--keep-alive"])
        app.advance_clock(3700)  # past the idle time-out (timeOut 3,600,000 ms)
        expired = runner.invoke(cli, ["--config", str(config), "login", "--keep-alive"])
        sync_expired = runner.invoke(cli, ["--config", str(config), "sync"], env=no_password)
    assert imported.exit_code == 0, imported.output
    assert f"school {acc['school_id']}" in imported.output
    assert "short-lived" in imported.output
    assert kept.stat().st_mode & 0o777 == 0o600
    stored = json.loads(kept.read_text(encoding="utf-8"))
    assert stored["at"] == answer["at"] and set(stored["cookies"]) == {"NSSESSIONID", "ESRNSec"}
    assert doctor.exit_code == 0, doctor.output
    result = json.loads(doctor.output[doctor.output.index("{") :])
    assert result["login"]["imported_session"] is True and result["ok"] is True
    assert synced.exit_code == 0, synced.output
    assert "sync ok" in synced.output
    assert alive.exit_code == 0, alive.output
    assert expired.exit_code == 4
    assert "imported browser session has expired" in expired.output
    assert sync_expired.exit_code == 4
    assert "imported browser session has expired" in sync_expired.output


def test_a_session_file_without_esrnsec_is_refused(tmp_path):
    source = tmp_path / "s.json"
    source.write_text(json.dumps({"at": "123", "cookies": {"NSSESSIONID": "x"}}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["login", "--session-from", str(source)])
    assert result.exit_code == 1
    assert "ESRNSec cookie" in result.output
