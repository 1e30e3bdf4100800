"""Logging set-up: counts and ids only; secrets and personal data are redacted."""

from __future__ import annotations

import logging
import re
import sys

# Values that must never reach a log line even if a developer formats them in by mistake.
_SECRET_PATTERNS = [
    re.compile(
        r"(?i)\b(at|pw|pw2|password|passwd|salt|token|ESRNSec|NSSESSIONID)\b(\s*[=:]\s*)([^\s&,;]+)"
    ),
    re.compile(r"(?i)(cookie:\s*)(.+)"),
]


def redact(text: str) -> str:
    """Replace anything that looks like a credential with ***."""
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
        else:
            text = pattern.sub(lambda m: f"{m.group(1)}***", text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now, so CliRunner and cron both see the lines."""

    @property
    def stream(self):  # noqa: D401
        return sys.stderr

    @stream.setter
    def stream(self, value):  # the base class assigns it; ignore
        pass


def configure_logging(verbosity: int = 0, quiet: bool = False) -> None:
    """-q: warnings only; default: our INFO; -v: our DEBUG; -vv: also httpx INFO."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_asurso", False):
            root.removeHandler(handler)
    handler = _CurrentStderrHandler()
    handler._asurso = True  # type: ignore[attr-defined]
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not sys.stderr.isatty():
        fmt = "%(asctime)s " + fmt
    handler.setFormatter(RedactingFormatter(fmt))
    root.addHandler(handler)
    ours = logging.WARNING if quiet else (logging.DEBUG if verbosity >= 1 else logging.INFO)
    root.setLevel(logging.WARNING)
    logging.getLogger("asurso_sync").setLevel(ours)
    third = logging.INFO if verbosity >= 2 else logging.WARNING
    for name in ("httpx", "httpcore", "apscheduler", "weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(
            third if name in ("httpx", "httpcore") else logging.WARNING
        )
