"""A WSGI wrapper around the simulator that changes one endpoint's answer: how the tests stage a
portal that sends an empty list, leaves a class out, drops a field or answers garbage for one
journal, while every other answer stays the simulator's own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

Change = Callable[[Any, dict[str, list[str]]], Any]


class Altered:
    """`Altered(app, {"/webapi/classes": lambda body, query: body[:-1]})`: each change gets the
    decoded JSON answer and the query, and returns the answer to send instead (bytes are sent
    as they are). The wrapper passes `accounts` and `set_as_of` through to the simulator."""

    def __init__(self, app: Any, changes: dict[str, Change]) -> None:
        self.app = app
        self.changes = changes
        self.hits: dict[str, int] = {}

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return self.app.accounts

    def set_as_of(self, day: Any) -> None:
        self.app.set_as_of(day)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        change = self.changes.get(path)
        if change is None:
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, keep))
        if not captured["status"].startswith("200"):
            start_response(captured["status"], captured["headers"])
            return [body]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        new = change(json.loads(body), query)
        if new is not None and not isinstance(new, bytes):
            new = json.dumps(new, ensure_ascii=False).encode("utf-8")
        if new is None:
            new = body
        else:
            self.hits[path] = self.hits.get(path, 0) + 1
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(new)))])
        return [new]


BOOKKEEPING = {
    "first_seen_at",
    "last_seen_at",
    "first_seen_run",
    "last_seen_run",
    "last_absent_at",
    "deleted_run",
}


def mirror_rows(db: Any, table: str, where: str = "1", params=(), *, negate: bool = False) -> list:
    """A mirror table's rows without the run bookkeeping (which differs between runs), sorted:
    what «the mirror is unchanged» compares."""
    cols = [c.name for c in db.table(table).columns if c.name not in BOOKKEEPING]
    cond = f"NOT ({where})" if negate else where
    sql = f"SELECT {', '.join(cols)} FROM [{table}] WHERE {cond}"
    return sorted(db.execute(sql, list(params)).fetchall(), key=repr)
