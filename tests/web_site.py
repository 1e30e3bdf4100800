"""A small site for the web page's tests: the documents' fixture mirror (two classes, three
teachers, six remarks), a sealed archive store, a rendered D1 and one account per role."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
from documents_fixture import build_documents_mirror

from asurso_sync.config import Config
from asurso_sync.documents import render
from asurso_sync.web import WebSettings, web_settings
from asurso_sync.web.accounts import add_user, open_accounts

PASSWORD = "correct horse battery staple"
# login -> (role, teacher id)
ACCOUNTS = {
    "admin": ("admin", None),
    "zavuch": ("deputy", None),
    "sekretar": ("secretary", None),
    "petrova": ("teacher", 201),  # Петрова Мария Ивановна: remarks v1 v2 v3 v5 v6
    "kuznetsova": ("teacher", 202),  # Кузнецова Ольга Сергеевна: remark v4
}


@dataclass
class Site:
    settings: WebSettings
    mirror: Path
    store: Path
    docs: Path


def build_site(folder: Path, store: Path) -> Site:
    """Mirror, documents folder with the school's D1 lists (HTML), accounts; `store` is a
    sealed archive store (the archive tests' `store_copy`)."""
    mirror = folder / "asurso.db"
    build_documents_mirror(mirror).close()
    docs = folder / "reports"
    render(mirror, "D1", docs / "D1_remarks", fmt="html", month="2025-11")
    settings = web_settings(Config(), mirror=mirror, archive=store, documents=docs)
    accounts = open_accounts(settings.accounts_path)
    for login, (role, teacher) in ACCOUNTS.items():
        add_user(accounts, login, role, PASSWORD, teacher_id=teacher, teacher_name=None)
    accounts.close()
    return Site(settings, mirror, store, docs)


def copy_site(site: Site, folder: Path, store: Path) -> Site:
    """A private copy of a built site (mirror, documents, accounts) over another store."""
    shutil.copytree(site.mirror.parent, folder)
    settings = web_settings(
        Config(), mirror=folder / "asurso.db", archive=store, documents=folder / "reports"
    )
    return Site(settings, folder / "asurso.db", store, folder / "reports")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found[1]


async def log_in(client: httpx.AsyncClient, login: str, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/login")
    return await client.post(
        "/login",
        data={"csrf": csrf_of(form.text), "login": login, "password": password, "next": "/"},
    )
