"""E-mail of reports against a local SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from asurso_sync.errors import ConfigError, CredentialsError
from asurso_sync.notify import (
    EmailError,
    EmailSettings,
    parse_email_settings,
    send_failure,
    send_reports,
)


class Inbox:
    """aiosmtpd handler keeping every envelope."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"zam" and auth_data.password == "секрет-1".encode()
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    inbox.port = controller.port
    inbox.logins = logins
    yield inbox
    controller.stop()


def _settings(port, **kw) -> EmailSettings:
    table = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "from": "asurso-sync@school39.example",
        "to": ["zam-uvr@school39.example"],
        **kw,
    }
    return parse_email_settings(table)


def test_reports_arrive_with_attachments_and_russian_subject(smtp_server, tmp_path):
    html = tmp_path / "D3-activity-2026-W47.html"
    html.write_text("<h1>Активность</h1>", encoding="utf-8")
    pdf = tmp_path / "D1-remarks-2026-10.pdf"
    pdf.write_bytes(b"%PDF-1.7 fake body")
    send_reports(_settings(smtp_server.port), "еженедельный отчёт об активности", [html, pdf])

    assert len(smtp_server.envelopes) == 1
    env = smtp_server.envelopes[0]
    assert env.mail_from == "asurso-sync@school39.example"
    assert env.rcpt_tos == ["zam-uvr@school39.example"]
    msg = email.message_from_bytes(env.original_content, policy=email.policy.default)
    assert msg["Subject"] == "[asurso-sync] еженедельный отчёт об активности"
    parts = {
        p.get_filename(): (p.get_content_type(), p.get_content()) for p in msg.iter_attachments()
    }
    assert parts == {
        "D3-activity-2026-W47.html": ("text/html", "<h1>Активность</h1>"),
        "D1-remarks-2026-10.pdf": ("application/pdf", b"%PDF-1.7 fake body"),
    }
    body = msg.get_body(("plain",)).get_content()
    assert "Во вложении: еженедельный отчёт об активности." in body
    assert "• D1-remarks-2026-10.pdf" in body


def test_login_uses_password_from_environment(smtp_server):
    settings = _settings(smtp_server.port, username="zam", password_env="TEST_SMTP_PW")
    send_failure(settings, "nightly", "PortalError: 503", env={"TEST_SMTP_PW": "секрет-1"})
    assert smtp_server.logins == [(b"zam", "секрет-1".encode())]
    msg = email.message_from_bytes(
        smtp_server.envelopes[0].original_content, policy=email.policy.default
    )
    assert msg["Subject"] == "[asurso-sync] ошибка задания nightly"
    assert "PortalError: 503" in msg.get_content()


def test_wrong_smtp_password_is_one_clear_error(smtp_server):
    settings = _settings(smtp_server.port, username="zam", password_env="TEST_SMTP_PW")
    with pytest.raises(
        EmailError, match=r"^the SMTP server 127\.0\.0\.1:\d+ refused the login: 535"
    ):
        send_failure(settings, "nightly", "x", env={"TEST_SMTP_PW": "wrong"})
    assert smtp_server.envelopes == []


def test_missing_smtp_password_names_the_variable(smtp_server):
    settings = _settings(smtp_server.port, username="zam", password_env="TEST_SMTP_PW")
    with pytest.raises(CredentialsError, match=r"\$TEST_SMTP_PW"):
        send_failure(settings, "nightly", "x", env={})


def test_starttls_required_but_not_offered(smtp_server):
    settings = _settings(smtp_server.port, starttls=True)
    with pytest.raises(EmailError, match="does not offer STARTTLS"):
        send_failure(settings, "nightly", "x")
    assert smtp_server.envelopes == []


def test_unreachable_server_is_one_line():
    settings = _settings(_free_port())
    with pytest.raises(EmailError, match=r"^cannot send e-mail through 127\.0\.0\.1:\d+: "):
        send_failure(settings, "nightly", "x")


def test_failure_notice_can_be_switched_off(smtp_server):
    settings = _settings(smtp_server.port, notify_failures=False)
    assert send_failure(settings, "nightly", "x") is None
    assert smtp_server.envelopes == []


def test_settings_parsing():
    assert parse_email_settings({}) is None
    assert parse_email_settings({"enabled": False, "to": "a@b.c"}) is None
    s = parse_email_settings({"from": "a@b.c", "to": "zam@b.c"})
    assert s == EmailSettings(to=("zam@b.c",), sender="a@b.c")
    assert (s.host, s.port, s.starttls, s.ssl, s.password_env) == (
        "localhost",
        587,
        True,
        False,
        "ASURSO_SMTP_PASSWORD",
    )
    with pytest.raises(ConfigError, match="unknown key"):
        parse_email_settings({"from": "a@b.c", "to": "z@b.c", "password": "x"})
    with pytest.raises(ConfigError, match="to must be"):
        parse_email_settings({"from": "a@b.c"})
    with pytest.raises(ConfigError, match="port must be a number"):
        parse_email_settings({"from": "a@b.c", "to": "z@b.c", "port": "587"})
    with pytest.raises(ConfigError, match="not both"):
        parse_email_settings({"from": "a@b.c", "to": "z@b.c", "ssl": True, "port": 465})
