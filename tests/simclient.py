"""A raw HTTP client for the simulator, independent of `asurso_sync.portal`: tests that pin the
simulator to the contract (and tests that compare the mirror with what was served) log in with
hashes computed here, not by the product's own code."""

from __future__ import annotations

import hashlib

import httpx

HEADERS = {"Referer": "http://sim/", "X-Requested-With": "XMLHttpRequest"}


def sim_client(app) -> httpx.Client:
    """An httpx client talking to the simulator in process."""
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://sim", headers=HEADERS
    )


def account(app, role: str) -> dict:
    return next(a for a in app.accounts if a["role"] == role)


def hashes(password: str, salt: str) -> tuple[str, str]:
    """pw and pw2 of CONTRACT §1 step 4 (windows-1251 MD5, then salted)."""
    inner = hashlib.md5(password.encode("cp1251")).hexdigest()
    pw2 = hashlib.md5((salt + inner).encode()).hexdigest()
    return pw2[: len(password)], pw2


def login_form(acc: dict, auth: dict, password=None) -> dict:
    """The form of POST /webapi/login for one getdata answer (`auth`: lt, ver, salt)."""
    pw, pw2 = hashes(password or acc["password"], auth["salt"])
    return {
        "loginType": 1,
        "scid": acc["school_id"],
        "un": acc["login"],
        "pw": pw,
        "pw2": pw2,
        "lt": auth["lt"],
        "ver": auth["ver"],
    }


def login(client: httpx.Client, acc: dict, rolegroup=None, password=None) -> httpx.Response:
    """The login flow of CONTRACT §1; returns the answer to POST /webapi/login."""
    client.get("/webapi/logindata")
    auth = client.post("/webapi/auth/getdata").json()
    form = login_form(acc, auth, password)
    if rolegroup is not None:
        form["rolegroup"] = rolegroup
    return client.post("/webapi/login", data=form)


def logged_in(app, role: str = "admin", rolegroup=None) -> httpx.Client:
    """A client with a session of the account of `role` (the `at` header set)."""
    client = sim_client(app)
    client.headers["at"] = login(client, account(app, role), rolegroup).json()["at"]
    return client
