"""Run the page under uvicorn: loopback by default; the school's network only over TLS
(`certfile`/`keyfile`) or behind a reverse proxy that terminates TLS (docs/reverse-proxy.md)."""

from __future__ import annotations

import logging

import uvicorn

from asurso_sync.errors import AsursoSyncError
from asurso_sync.web.app import make_app
from asurso_sync.web.core import WebSettings, is_loopback

log = logging.getLogger(__name__)


def check_exposure(
    host: str, certfile: str | None, keyfile: str | None, behind_proxy: bool
) -> None:
    """Refuse to serve pupils' data in clear text on a network address."""
    if bool(certfile) != bool(keyfile):
        raise AsursoSyncError("give both --certfile and --keyfile")
    if not is_loopback(host) and not certfile and not behind_proxy:
        raise AsursoSyncError(
            f"--host {host} serves the school's network: add --certfile/--keyfile, or put "
            "the page behind a reverse proxy with TLS and add --behind-proxy "
            "(docs/reverse-proxy.md)"
        )


def serve(
    settings: WebSettings,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    behind_proxy: bool = False,
) -> None:
    check_exposure(host, certfile, keyfile, behind_proxy)
    app = make_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        proxy_headers=behind_proxy,
        forwarded_allow_ips="127.0.0.1" if behind_proxy else None,
        server_header=False,
        log_level="warning",
        access_log=False,  # an access log would hold query strings with ids; audit_log has who
    )
