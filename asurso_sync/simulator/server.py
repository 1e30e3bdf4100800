"""Serve the simulator over HTTP (or HTTPS) on a background thread (threaded wsgiref)."""

from __future__ import annotations

import ssl
import sys
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that refuses our certificate or hangs up is not a simulator error."""
        if isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            return
        super().handle_error(request, client_address)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """No access log on stderr (it would show tokens in query strings)."""


class Server:
    """A running simulator: `.url`, `.port`, `.shutdown()`.

    `tls=(certfile, keyfile)` serves HTTPS with that certificate (e.g. a self-signed one, to
    show what a client does with a certificate it cannot verify)."""

    def __init__(self, app: Any, host: str, port: int, tls: tuple[str, str] | None = None) -> None:
        self.app = app
        self._httpd = make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            # the handshake runs in the request's thread, so a stalled client blocks no one
            self._httpd.socket = context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
            scheme = "https"
        self.host = host
        self.port = self._httpd.server_port
        self.url = f"{scheme}://{host}:{self.port}"
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


def serve(
    app: Any, host: str = "127.0.0.1", port: int = 0, tls: tuple[str, str] | None = None
) -> Server:
    """Start serving `app` in a background thread; port 0 picks a free port; `tls` =
    (certfile, keyfile) serves HTTPS."""
    return Server(app, host, port, tls)
