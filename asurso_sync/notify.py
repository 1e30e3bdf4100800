"""Optional e-mail of reports (and of failed scheduled jobs) to the deputy director over SMTP.

Configured by `[email]`; without that section nothing is sent. The SMTP password is read from
an environment variable (`password_env`) or the systemd credential `smtp-password`, never from
the config file.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from asurso_sync.errors import ConfigError, CredentialsError, EmailError


@dataclass(frozen=True)
class EmailSettings:
    """`[email]`: where reports go. `sender` is the `from` key of the config."""

    to: tuple[str, ...]
    sender: str
    host: str = "localhost"
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password_env: str = "ASURSO_SMTP_PASSWORD"
    timeout_s: float = 30.0
    subject_prefix: str = "[asurso-sync]"
    notify_failures: bool = True
    max_attachments_mb: int = 20


def parse_email_settings(table: Mapping[str, Any]) -> EmailSettings | None:
    """Validate `[email]`; None when the section is absent or `enabled = false`."""
    if not table or table.get("enabled", True) is False:
        return None
    table = dict(table)
    table.pop("enabled", None)
    known = {f.name for f in fields(EmailSettings)} - {"sender"} | {"from"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"[email] has unknown key(s): {', '.join(unknown)}")
    to = table.pop("to", None)
    if isinstance(to, str):
        to = [to]
    if not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise ConfigError("[email] to must be an address or a list of addresses")
    sender = table.pop("from", None)
    if not isinstance(sender, str) or "@" not in sender:
        raise ConfigError("[email] from must be an e-mail address")
    values: dict[str, Any] = {}
    defaults = {f.name: f.default for f in fields(EmailSettings)}
    for key, value in table.items():
        default = defaults[key]
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"[email] {key} must be true or false")
        if (
            isinstance(default, int | float)
            and not isinstance(default, bool)
            and (not isinstance(value, int | float) or isinstance(value, bool))
        ):
            raise ConfigError(f"[email] {key} must be a number")
        if (default is None or isinstance(default, str)) and not isinstance(value, str):
            raise ConfigError(f"[email] {key} must be a string")
        values[key] = value
    settings = EmailSettings(to=tuple(to), sender=sender, **values)
    if settings.ssl and settings.starttls:
        raise ConfigError("[email] choose ssl (port 465) or starttls (port 587), not both")
    return settings


def email_settings(config) -> EmailSettings | None:
    """The `[email]` settings of a loaded Config (None: e-mail is off)."""
    return parse_email_settings(config.section("email"))


def smtp_password(settings: EmailSettings, env: Mapping[str, str] | None = None) -> str | None:
    """The SMTP password: `$<password_env>` or `$CREDENTIALS_DIRECTORY/smtp-password`."""
    if not settings.username:
        return None
    env = os.environ if env is None else env
    value = env.get(settings.password_env)
    if value:
        return value
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    if cred_dir and (Path(cred_dir) / "smtp-password").exists():
        return (Path(cred_dir) / "smtp-password").read_text(encoding="utf-8").strip("\r\n")
    raise CredentialsError(
        f"[email] username is set but ${settings.password_env} (the SMTP password) is not"
    )


def build_message(
    settings: EmailSettings, subject: str, body: str, attachments: Iterable[Path] = ()
) -> EmailMessage:
    """A UTF-8 message with the files attached under their own names."""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.to)
    msg["Subject"] = f"{settings.subject_prefix} {subject}".strip()
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[1])
    msg.set_content(body)
    total = 0
    for path in attachments:
        path = Path(path)
        data = path.read_bytes()
        total += len(data)
        if total > settings.max_attachments_mb * 1024 * 1024:
            raise EmailError(
                f"the attachments exceed [email] max_attachments_mb = {settings.max_attachments_mb}"
            )
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (ctype or "application/octet-stream").split("/", 1)
        params = {"charset": "utf-8"} if maintype == "text" else None
        msg.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=path.name, params=params
        )
    return msg


def send_email(
    settings: EmailSettings,
    subject: str,
    body: str,
    attachments: Iterable[Path] = (),
    *,
    env: Mapping[str, str] | None = None,
) -> EmailMessage:
    """Send one message; any SMTP or network failure becomes one EmailError line."""
    msg = build_message(settings, subject, body, attachments)
    password = smtp_password(settings, env)
    where = f"{settings.host}:{settings.port}"
    try:
        smtp: smtplib.SMTP
        if settings.ssl:
            smtp = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout_s,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        with smtp:
            smtp.ehlo()
            if settings.starttls:
                if not smtp.has_extn("starttls"):
                    raise EmailError(
                        f"the SMTP server {where} does not offer STARTTLS; "
                        "set [email] starttls = false only on a trusted local relay"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.username:
                _login(smtp, settings.username, password or "")
            smtp.send_message(msg)
    except EmailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise EmailError(f"the SMTP server {where} refused the login: {_smtp_text(exc)}") from None
    except smtplib.SMTPResponseException as exc:
        raise EmailError(
            f"the SMTP server {where} refused the message: {_smtp_text(exc)}"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailError(f"cannot send e-mail through {where}: {exc}") from None
    return msg


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN in UTF-8 (smtplib's login() only takes ASCII passwords); others via login()."""
    mechanisms = smtp.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in mechanisms:
        smtp.login(user, password)
        return
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, text = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, text)


def _smtp_text(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{exc.smtp_code} {text}"


def send_reports(
    settings: EmailSettings,
    title: str,
    paths: Iterable[Path],
    *,
    env: Mapping[str, str] | None = None,
) -> EmailMessage:
    """E-mail rendered reports to the deputy director, with a short Russian cover note."""
    paths = [Path(p) for p in paths]
    lines = [
        "Здравствуйте!",
        "",
        f"Во вложении: {title}.",
        "",
        "Файлы:",
        *[f"  • {p.name}" for p in paths],
        "",
        "Письмо отправлено автоматически программой asurso-sync.",
    ]
    return send_email(settings, title, "\n".join(lines) + "\n", paths, env=env)


def send_failure(
    settings: EmailSettings, job: str, error: str, *, env: Mapping[str, str] | None = None
) -> EmailMessage | None:
    """Tell the recipients a scheduled job failed (when `notify_failures` is on)."""
    if not settings.notify_failures:
        return None
    body = (
        f"Задание «{job}» завершилось с ошибкой:\n\n{error}\n\n"
        "Подробности: asurso-sync status; журнал службы (journalctl -u asurso-sync).\n"
    )
    return send_email(settings, f"ошибка задания {job}", body, env=env)
