"""HTTP plumbing of the simulator: the request read from a WSGI environ, the response, and the
few canned answers (JSON, HTML, 401 session expired, 403)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def iso(day: dt.date) -> str:
    """A date the way the portal's JSON writes it: `2026-05-20T00:00:00`."""
    return day.isoformat() + "T00:00:00"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] | None = None
    data: Any = None  # the JSON object before encoding (for the layout fault)

    def all_headers(self) -> list[tuple[str, str]]:
        out = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        return out + (self.headers or [])


def json_response(
    data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, headers=headers, data=data)


def html_response(
    text: str, status: int = 200, encoding: str = "utf-8", charset_header: bool = True
) -> Response:
    ctype = f"text/html; charset={encoding}" if charset_header else "text/html"
    return Response(status, text.encode(encoding), ctype)


def expired() -> Response:
    return json_response({"message": "Сессия завершена"}, 401, [("auth-error", "SessionExpired")])


def forbidden(message: str = "Доступ запрещён") -> Response:
    return json_response({"message": message}, 403)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    target: str
    repeated: list[tuple[str, str]] = field(default_factory=list)  # every query/form pair

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query or form value, the name compared case-insensitively (as ASP.NET does)."""
        low = name.lower()
        for source in (self.query, self.form):
            for key, value in source.items():
                if key.lower() == low:
                    return value
        return default

    def values(self, name: str) -> list[str]:
        """Every value of a repeated key (`expand=terms&expand=useInfo`), comma lists split."""
        low = name.lower()
        return [
            part.strip()
            for key, value in self.repeated
            if key.lower() == low
            for part in value.split(",")
            if part.strip()
        ]

    def int_arg(self, name: str) -> int | None:
        value = self.arg(name)
        try:
            return int(value) if value not in (None, "") else None
        except ValueError:
            return None


def parse_cookies(header: str) -> dict[str, str]:
    """`a=1; b=2` -> {a: 1, b: 2}; a name sent twice keeps its FIRST value, as ASP.NET's
    `Request.Cookies[name]` does (so an empty `ESRNSec=` sent before the real one counts)."""
    out: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in out:
            out[name] = value.strip().strip('"')
    return out


def read_request(environ: dict[str, Any]) -> Request:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "/") or "/"
    raw_query = environ.get("QUERY_STRING", "")
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    form: dict[str, str] = {}
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        ctype = environ.get("CONTENT_TYPE", "")
        if body and ("x-www-form-urlencoded" in ctype or not ctype):
            text = body.decode("utf-8", errors="replace")
            form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
            pairs += parse_qsl(text, keep_blank_values=True)
    headers = {
        k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
    }
    cookies = parse_cookies(headers.get("cookie", ""))
    target = path + ("?" + raw_query if raw_query else "")
    return Request(method, path, query, form, headers, cookies, target, pairs)
