"""Fault injection (CONTRACT §6): each kind, determinism per (request, attempt), retries succeed."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from simclient import HEADERS, login

from asurso_sync.simulator import FaultSpec, make_app, serve
from asurso_sync.simulator.faults import FaultPlan

AS_OF = dt.date(2026, 5, 20)


def client(app):
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://sim", headers=HEADERS
    )


def admin(app):
    return next(a for a in app.accounts if a["role"] == "admin")


def test_parse_spec():
    spec = FaultSpec.parse(
        "5xx=0.1,timeout=0.05,expire=0.02,security=1,roles=1,blocked=0.1,truncated=0.1,"
        "nonjson=0.1,layout=0.1,seed=7,hang_s=2"
    )
    assert (
        spec.r5xx,
        spec.timeout,
        spec.expire,
        spec.security,
        spec.roles,
        spec.blocked,
        spec.truncated,
        spec.nonjson,
        spec.layout,
        spec.seed,
        spec.hang_s,
    ) == (0.1, 0.05, 0.02, 1, 1, 0.1, 0.1, 0.1, 0.1, 7, 2)
    assert FaultSpec.parse("") == FaultSpec()
    assert not FaultSpec.parse(None).active
    for bad in ("5xx", "teleport=1", "5xx=2", "5xx=x"):
        with pytest.raises(ValueError):
            FaultSpec.parse(bad)


def test_decisions_depend_only_on_request_and_attempt():
    spec = FaultSpec.parse("5xx=0.5,seed=3")
    a, b = FaultPlan(spec), FaultPlan(spec)
    targets = [f"/webapi/grade/journal?sgId={i}&termId=26901" for i in range(40)]
    first = [a.hits("5xx", "GET", t, 1) for t in targets]
    second = [b.hits("5xx", "GET", t, 1) for t in reversed(targets)][::-1]
    assert first == second
    assert 5 < sum(first) < 35
    assert any(
        a.hits("5xx", "GET", targets[0], n) != a.hits("5xx", "GET", targets[0], n + 1)
        for n in range(1, 20)
    )


def test_5xx_then_retry_succeeds(school):
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("5xx=0.5,seed=3"))
    statuses = []
    with client(app) as c:
        for _ in range(30):
            r = c.get("/webapi/logindata")
            statuses.append(r.status_code)
            if r.status_code == 200:
                break
    assert statuses[-1] == 200
    assert all(s in (500, 502, 503) for s in statuses[:-1])


def test_each_5xx_code_appears(school):
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("5xx=1"))
    with client(app) as c:
        codes = {c.get("/webapi/logindata").status_code for _ in range(3)}
    assert codes == {500, 502, 503}


def test_blocked_is_403_html(school):
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("blocked=1"))
    with client(app) as c:
        r = c.get("/webapi/logindata")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "Access denied" in r.text


@pytest.mark.parametrize("kind", ["truncated", "nonjson", "layout"])
def test_body_faults_on_data_endpoints(school, kind):
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse(f"{kind}=1"))
    with client(app) as c:
        body = login(c, admin(app))
        assert body.status_code == 200  # the login flow itself stays intact
        c.headers["at"] = body.json()["at"]
        r = c.get("/webapi/grade/journal", params={"sgId": 1201, "termId": 26901})
    assert r.status_code == 200
    if kind == "layout":
        j = r.json()["journals"][0]
        assert "classMeeting" not in j and "classMeetings" in j
    else:
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)


def test_layout_renames_a_key_of_lists(school):
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("layout=1"))
    with client(app) as c:
        c.headers["at"] = login(c, admin(app)).json()["at"]
        terms = c.get("/webapi/terms").json()
    assert "termName" not in terms[0] and "name" in terms[0]


def test_expire_mid_run(school):
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("expire=0.3,seed=5"))
    seen = []
    with client(app) as c:
        c.headers["at"] = login(c, admin(app)).json()["at"]
        for sg in sorted(school.groups):
            r = c.get("/webapi/grade/journal", params={"sgId": sg, "termId": 26901})
            seen.append(r.status_code)
            if r.status_code == 401:
                assert r.headers["auth-error"] == "SessionExpired"
                c.headers["at"] = login(c, admin(app)).json()["at"]
    assert 401 in seen and 200 in seen


def test_security_and_roles_forced_at_login(school):
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("security=1"))
    with client(app) as c:
        body = login(c, admin(app)).json()
    assert body["entryPoint"] == "/asp/SecurityWarning.asp"
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("roles=1"))
    with client(app) as c:
        body = login(c, admin(app)).json()
    assert "choose-session-role" in body["entryPoint"]
    assert body["accountInfo"]["userRoles"] == [
        {"id": 1, "name": "Администратор"},
        {"id": 2, "name": "Родитель"},
    ]


def test_timeout_hangs_then_answers(school):
    app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("timeout=1,hang_s=0.2"))
    server = serve(app, host="127.0.0.1", port=0)
    try:
        with httpx.Client(base_url=server.url, timeout=0.05) as c, pytest.raises(httpx.ReadTimeout):
            c.get("/webapi/logindata")
        with httpx.Client(base_url=server.url, timeout=5) as c:
            assert c.get("/webapi/logindata").status_code == 200
    finally:
        server.shutdown()


def test_serve_on_localhost(school):
    app = make_app(school, as_of=AS_OF, latency_ms=1)
    server = serve(app, host="127.0.0.1", port=0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.url, headers=HEADERS) as c:
            body = login(c, admin(app))
            assert body.status_code == 200
            years = c.get("/webapi/years/current", headers={"at": body.json()["at"]})
            assert years.json()["name"] == "2025/2026"
    finally:
        server.shutdown()


def _fetch_with_retries(base_url, at, cookies, targets):
    out = {}
    with httpx.Client(
        base_url=base_url, headers={**HEADERS, "at": at}, cookies=cookies, timeout=10
    ) as c:
        for target in targets:
            statuses = []
            for _ in range(20):
                r = c.get(target)
                statuses.append(r.status_code)
                if r.status_code == 200:
                    break
            out[target] = (statuses, r.content)
    return out


def test_threaded_server_decisions_do_not_depend_on_scheduling(school):
    from concurrent.futures import ThreadPoolExecutor

    targets = [f"/webapi/grade/journal?sgId={sg}&termId=26902" for sg in sorted(school.groups)]
    results = []
    for workers in (1, 4):
        app = make_app(school, as_of=AS_OF, faults=FaultSpec.parse("5xx=0.3,seed=11"))
        server = serve(app, host="127.0.0.1", port=0)
        try:
            with httpx.Client(base_url=server.url, headers=HEADERS) as c:
                for _ in range(20):
                    body = login(c, admin(app))
                    if body.status_code == 200:
                        break
                at, cookies = body.json()["at"], dict(c.cookies)
            chunks = [targets[i::workers] for i in range(workers)]
            with ThreadPoolExecutor(workers) as pool:
                merged = {}
                jobs = [
                    pool.submit(_fetch_with_retries, server.url, at, cookies, ch) for ch in chunks
                ]
                for job in jobs:
                    merged.update(job.result())
            results.append(merged)
        finally:
            server.shutdown()
    assert results[0] == results[1]
    assert any(len(statuses) > 1 for statuses, _body in results[0].values())
    assert all(statuses[-1] == 200 for statuses, _body in results[0].values())
