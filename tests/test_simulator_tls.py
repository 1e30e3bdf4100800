"""The simulator over HTTPS with a self-signed certificate (what `doctor` must name as the cause
when the portal's certificate chain cannot be verified)."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from asurso_sync.cli import cli
from asurso_sync.simulator import build_school, make_app, serve

TLS = Path(__file__).resolve().parent / "fixtures" / "simulator_tls"
CERT, KEY = str(TLS / "cert.pem"), str(TLS / "key.pem")


@pytest.fixture(scope="module")
def https_portal():
    school = build_school(size="small", seed=1, year_start=2025)
    with serve(make_app(school, as_of=dt.date(2026, 5, 20)), tls=(CERT, KEY)) as server:
        yield server


def test_the_self_signed_certificate_is_refused_by_default(https_portal):
    assert https_portal.url.startswith("https://127.0.0.1:")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(https_portal.url + "/webapi/logindata")


def test_a_client_that_trusts_the_certificate_gets_the_portal(https_portal):
    trust = ssl.create_default_context(cafile=CERT)
    answer = httpx.get(https_portal.url + "/webapi/logindata", verify=trust)
    assert (answer.status_code, answer.json()["version"]) == (200, "5.44.7850.27567")
    # the refused handshake of the other test left the server serving
    assert httpx.get(https_portal.url + "/webapi/sysinfo", verify=trust).status_code == 200


def test_simulate_serves_https_with_the_given_certificate(monkeypatch):
    def interrupt(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("asurso_sync.cli.simulate.time.sleep", interrupt)
    args = ["simulate", "--port", "0", "--as-of", "2026-05-20", "--tls-cert", CERT]
    half = CliRunner().invoke(cli, args)
    assert half.exit_code != 0
    assert "--tls-cert and --tls-key go together" in half.output
    result = CliRunner().invoke(cli, [*args, "--tls-key", KEY])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "simulator (small, seed 1, as of 2026-05-20) at https://127.0.0.1:"
    )
