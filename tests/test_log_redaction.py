"""The log formatter removes credentials even when a developer formats them in by mistake."""

import logging

from asurso_sync.log import RedactingFormatter, redact


def test_redact_hides_tokens_passwords_and_cookies():
    line = "login pw=3f2a pw2=3f2a11 at=00168638015 salt: 9369808045 Cookie: NSSESSIONID=abc"
    assert redact(line) == "login pw=*** pw2=*** at=*** salt: *** Cookie: ***"


def test_redact_keeps_counts_and_ids():
    assert redact("journals=300 marks=1234 class_id=101") == "journals=300 marks=1234 class_id=101"


def test_formatter_applies_redaction():
    record = logging.LogRecord(
        "asurso_sync.x", logging.INFO, __file__, 1, "token=%s", ("s3cr3t",), None
    )
    assert RedactingFormatter("%(message)s").format(record) == "token=***"
