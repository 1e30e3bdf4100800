"""Real portal shapes served by a wrapper around the simulator (CONTRACT §7): shared by
tests/test_portal_quirks.py and bench/bench_portal_quirks.py until the simulator's own `--quirks`
exist. Also the comparison helpers: a mirror's rows without history columns, a mirror's findings.
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlencode

from asurso_sync.config import Config
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.schema import HISTORY, SYNCED_TABLES
from asurso_sync.rules import load_rule_settings
from asurso_sync.rules.engine import evaluate


class RealShapes:
    """A WSGI wrapper serving the simulator's answers in the real portal's shapes."""

    def __init__(self, app) -> None:
        self.app = app
        self.accounts = app.accounts
        self.rewritten: dict[str, int] = {}

    def set_as_of(self, as_of: dt.date) -> None:
        self.app.set_as_of(as_of)

    def _inner(self, environ, path: str | None = None, query: str | None = None):
        env = dict(environ)
        if path is not None:
            env["PATH_INFO"] = path
        if query is not None:
            env["QUERY_STRING"] = query
        captured: dict = {}

        def keep(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, list(headers)
            return lambda _data: None

        body = b"".join(self.app(env, keep))
        return captured["status"], captured["headers"], body

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/webapi/subjectgroups/terms":
            return self._subjectgroup_terms(environ, start_response)
        status, headers, body = self._inner(environ)
        if status.startswith("200") and body[:1] in (b"{", b"["):
            data = json.loads(body)
            changed = self.rewrite(path, data)
            if changed is not None:
                self.rewritten[path] = self.rewritten.get(path, 0) + 1
                body = json.dumps(changed, ensure_ascii=False).encode()
                if path == "/webapi/login":
                    headers.append(("Set-Cookie", "ESRNSec=; path=/"))
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def rewrite(self, path: str, data):
        if path == "/webapi/login" and "accountInfo" in data:
            data["accountInfo"]["userRoles"] = []
            return data
        if path == "/webapi/subjectgroups":
            for g in data:
                g.pop("teachers", None)
                g["terms"] = [{"id": t, "name": f"term {t}"} for t in g.get("terms") or []]
            return data
        if path == "/webapi/grade/journal":
            for j in data.get("journals") or []:
                for key in ("marks", "attendance"):
                    if not j.get(key):
                        j.pop(key, None)
                totals = j.get("totals") or []
                for t in totals:
                    t.pop("termId", None)
                if not any(t.get("marks") for t in totals):
                    j["totals"] = None
            return data
        if path == "/webapi/subjectplans/getForSubjectGroup" and not data.get("subjectPlanId"):
            return {"subjectPlanId": 0, "variantsExists": False}
        return None

    def _subjectgroup_terms(self, environ, start_response):
        """`[{termId, termName, teachers: [{id, name}]}]` from the simulator's own expand."""
        args = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        query = urlencode({"classId": args["classId"], "expand": "teachers,terms"})
        status, headers, body = self._inner(environ, "/webapi/subjectgroups", query)
        if not status.startswith("200"):
            start_response(status, headers)
            return [body]
        group = next(g for g in json.loads(body) if str(g["id"]) == args["sgId"])
        answer = [
            {"termId": t, "termName": f"term {t}", "teachers": group["teachers"]}
            for t in group["terms"] or []
        ]
        out = json.dumps(answer, ensure_ascii=False).encode()
        self.rewritten["/webapi/subjectgroups/terms"] = (
            self.rewritten.get("/webapi/subjectgroups/terms", 0) + 1
        )
        start_response("200 OK", [("Content-Type", "application/json; charset=utf-8")])
        return [out]


def mirror_rows(path) -> dict[str, list[tuple]]:
    db = open_mirror(path)
    out = {}
    try:
        for table, key in SYNCED_TABLES.items():
            columns = [c for c in db.table(table).columns_dict if c not in HISTORY]
            order = ", ".join(key)
            out[table] = [
                tuple(r)
                for r in db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
            ]
    finally:
        db.close()
    return out


def findings(path, as_of: dt.date) -> list[tuple]:
    db = open_mirror(path)
    try:
        result = evaluate(db, load_rule_settings(Config()), as_of, None)
    finally:
        db.close()
    return sorted(
        (
            f.rule,
            str(getattr(f, "key", "")),
            getattr(f, "lesson_id", None),
            getattr(f, "student_id", None),
        )
        for f in result.findings
    )
