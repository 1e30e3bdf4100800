"""The local web page for the deputy director, the secretary, teachers and the admin.

Public API: `make_app(settings)` (a Starlette ASGI app), `web_settings(config, ...)`,
`serve(settings, host, port, ...)` (uvicorn), and the accounts in `asurso_sync.web.accounts`.
Pages are server-rendered (templates/web/), work without JavaScript, and read the mirror,
the documents folder and the archive store; accounts and sessions live in `web.db`.
"""

from __future__ import annotations

from asurso_sync.web.app import make_app
from asurso_sync.web.core import WebSettings, is_loopback, web_settings
from asurso_sync.web.serve import serve

__all__ = ["WebSettings", "is_loopback", "make_app", "serve", "web_settings"]
