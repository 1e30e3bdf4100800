"""Serve the simulator over HTTP (or HTTPS) on a background thread (threaded wsgiref).

Connections are kept alive (HTTP/1.1, as the real portal's IIS does): a client that sends many
requests pays one TCP (and TLS) connect per connection, not one per request."""

from __future__ import annotations

import ssl
import sys
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.headers import Headers
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that refuses our certificate or hangs up is not a simulator error."""
        if isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            return
        super().handle_error(request, client_address)


class _Http11Handler(ServerHandler):
    http_version = "1.1"
    headers: Headers  # set by start_response (not in the stubs)
    request_handler: _QuietHandler

    def cleanup_headers(self) -> None:
        """An answer without Content-Length ends where the connection does: say so, and close."""
        super().cleanup_headers()
        if "Content-Length" not in self.headers:
            self.headers["Connection"] = "close"
        if self.headers.get("Connection", "").lower() == "close":
            self.request_handler.close_connection = True


class _QuietHandler(WSGIRequestHandler):
    """One connection: its requests, one after the other, until the client closes it, asks to
    close it, falls silent for `timeout` seconds, or an answer has no Content-Length."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK hold each answer's body ~40 ms on a kept-alive connection
    disable_nagle_algorithm = True

    def handle(self) -> None:
        self.close_connection = True
        self._one_request()
        while not self.close_connection:
            self._one_request()

    def _one_request(self) -> None:
        self.close_connection = True
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, ConnectionError, ssl.SSLError):
            return  # an idle keep-alive connection, or a client that hung up
        if not self.raw_requestline:
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():  # an error answer was sent; the connection closes
            return
        wfile: Any = self.wfile
        handler = _Http11Handler(
            self.rfile, wfile, self.get_stderr(), self.get_environ(), multithread=False
        )
        handler.request_handler = self
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

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
