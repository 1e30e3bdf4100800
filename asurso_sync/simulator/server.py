"""Serve the simulator over HTTP on a background thread (threaded wsgiref)."""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """No access log on stderr (it would show tokens in query strings)."""


class Server:
    """A running simulator: `.url`, `.port`, `.shutdown()`."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        self.app = app
        self._httpd = make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.host = host
        self.port = self._httpd.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="asurso-simulator", daemon=True
        )
        self._thread.start()

    def shutdown(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def serve(app: Any, host: str = "127.0.0.1", port: int = 0) -> Server:
    """Start serving `app` in a background thread; port 0 picks a free port."""
    return Server(app, host, port)
