"""A lean HTTP/1.1 keep-alive transport for httpx, written over `asyncio.Protocol`.

httpx's own transport (httpcore over anyio over asyncio streams) costs ~0.5 ms of CPU a
request more than this one (bench/bench_http.py); a full sync makes ~2,000 requests, so this
transport speaks HTTP/1.1 itself:
a pool of at most `max_connections` connections per origin, idle ones reused (LIFO),
Content-Length, chunked and read-until-close bodies, HTTP/1.0 answers, no body for HEAD, 1xx,
204 and 304. The body streams: a caller may stop reading a huge answer at any point, and
closing a response before its end drops that connection instead of reusing it.

Two ways in. `handle_async_request` (httpx's): the request goes out exactly as httpx built
it (its headers, its `Accept-Encoding`), the body streams into httpx's `Response`, which
decodes the content (gzip). `send` (the portal client's, ~0.1 ms a request less): the
request already in bytes, the answer as an `Incoming` (status, raw headers) whose `read`
returns the whole body decoded (gzip, deflate) under a size limit, no httpx object made.
Both share the pool, the framing and the errors. Failures surface as httpx's exceptions,
with the original one chained (`ConnectError` from the `ssl.SSLCertVerificationError` of a
refused certificate), time-outs as `ConnectTimeout`, `ReadTimeout`, `WriteTimeout`,
`PoolTimeout` from `request.extensions["timeout"]` (or `send`'s `timeouts`).

A kept-alive connection the server closed while idle is noticed (end of stream) and dropped
before use; if the server closes it just as a request goes out, that request is sent once
more on a fresh connection, but only when nothing of the answer has arrived and the request
is idempotent or the connection was a reused one.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable

import httpx

KEEPALIVE_S = 5.0  # an idle connection older than this is closed, not reused (as httpx does)
MAX_HEAD = 64 * 1024  # the most a status line and headers may take
HIGH_WATER = 1024 * 1024  # stop reading the socket while this much is unread
IDEMPOTENT = frozenset((b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"))
NO_BODY_STATUS = frozenset((204, 304))
DEFAULT_PORT = {"http": 80, "https": 443}


class _TimedOut(Exception):
    """A wait for the socket ran past its time-out (becomes httpx's own time-out error)."""


class _Closed(Exception):
    """The connection ended before the first byte of the answer (maybe worth a retry)."""


def insecure_context() -> ssl.SSLContext:
    """A TLS context that checks nothing (`[portal] verify_tls = false`)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: collects what arrives; the coroutines parse it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.drain: asyncio.Future[None] | None = None
        self.eof = False  # the server sent FIN or the connection is gone
        self.lost: BaseException | None = None  # why the connection broke, if it did
        self.paused = False
        self.used = 0  # requests sent on it
        self.idle_since = 0.0

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.lost = exc
        self._wake()
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def pause_writing(self) -> None:
        self.drain = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)
        self.drain = None

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- used by the transport ---------------------------------------------------------------

    def usable(self, now: float) -> bool:
        """An idle connection worth reusing: open, quiet, not too old."""
        return not self.eof and not self.buffer and now - self.idle_since < KEEPALIVE_S

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.eof = True

    async def wait(self, timeout: float | None) -> None:
        """Wait until more data arrives, the connection ends, or `timeout` passes."""
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        waiter = self.waiter = self.loop.create_future()
        timer = None if timeout is None else self.loop.call_later(timeout, _time_out, waiter)
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    def take(self, limit: int | None = None) -> bytes:
        """Up to `limit` bytes from the buffer (all of it when None)."""
        buffer = self.buffer
        if limit is None or limit >= len(buffer):
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:limit])
            del buffer[:limit]
        if self.paused and len(buffer) < HIGH_WATER // 2 and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data

    def broken(self, request: httpx.Request | None, when: str) -> httpx.TransportError:
        """The httpx error for a connection that ended `when` ("before answering", ...)."""
        if self.lost is not None:
            error: httpx.TransportError = httpx.ReadError(
                f"the connection broke {when}: {self.lost}", request=request
            )
            error.__cause__ = self.lost
            return error
        return httpx.RemoteProtocolError(
            f"the server closed the connection {when}", request=request
        )


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(_TimedOut())


class _Pool:
    """The connections to one origin (scheme, host, port)."""

    def __init__(self) -> None:
        self.idle: list[_Connection] = []
        self.open = 0  # idle, busy and connecting
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def wake_one(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


# The TLS trust for https://: a context; True: the system's default trust; False: no checks
# at all; or a function giving one of those at the first https:// connection.
TlsTrust = ssl.SSLContext | bool | Callable[[], "ssl.SSLContext | bool"]


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive over asyncio; `tls` the trust for https:// (`TlsTrust`: made
    when first needed if a function, as loading the roots costs ~30 ms of CPU)."""

    def __init__(self, *, tls: TlsTrust = True, max_connections: int = 4) -> None:
        self._trust = tls
        self._tls: ssl.SSLContext | None = None
        self.max_connections = max(1, max_connections)
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self.connections_made = 0  # how many TCP connections were opened (a test reads it)
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = self._origin(url.scheme, url.host, url.port, request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout") or {}
        message, asks_close = _message(request, await request.aread())
        method = request.method.encode("ascii")
        answer = await self.send(
            key, message, method, timeouts, request=request, asks_close=asks_close
        )
        stream = _Body(answer)
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=stream,
            request=request,
            extensions={
                "http_version": answer.version,
                "reason_phrase": answer.reason,
                "network_stream": answer.network_stream,
            },
        )

    def _origin(
        self, scheme: str, host: str, port: int | None, request: httpx.Request | None
    ) -> tuple[str, str, int]:
        """The pool key of a URL's origin; only http:// and https:// are spoken."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        if scheme not in DEFAULT_PORT:
            raise httpx.UnsupportedProtocol(f"no support for {scheme}:// URLs", request=request)
        return scheme, host, port or DEFAULT_PORT[scheme]

    async def send(
        self,
        key: tuple[str, str, int],
        message: bytes,
        method: bytes,
        timeouts: dict[str, float | None],
        *,
        request: httpx.Request | None = None,
        asks_close: bool = False,
    ) -> Incoming:
        """Send a request already in bytes (`message`: request line, headers, body) on a
        connection to `key` (scheme, host, port) and read the answer's head; `Incoming.read`
        or `pull` reads its body. `asks_close`: the request says `Connection: close`.

        What `handle_async_request` does without the cost of httpx's request and response
        objects, for a caller that makes the bytes itself (the portal client): the same
        pool, time-outs (`timeouts`: connect, read, write, pool) and errors, httpx's
        classes, naming `request` (None: the caller names it if it needs one)."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool()
        head_only = method == b"HEAD"
        retry_ok = method in IDEMPOTENT
        fresh = False
        while True:
            conn = await self._acquire(pool, key, request, timeouts, fresh)
            try:
                await _send(conn, message, request, timeouts.get("write"))
                status, version, reason, headers = await _read_head(
                    conn, request, timeouts.get("read")
                )
                framing, length, keep = _framing(status, version, headers, head_only, request)
            except _Closed as closed:
                self._release(pool, conn, reuse=False)
                if not fresh and (retry_ok or conn.used > 1):
                    fresh = True
                    continue
                error = conn.broken(request, "before answering")
                if error.__cause__ is None:
                    error.__cause__ = closed.__cause__
                raise error from error.__cause__
            except BaseException:
                self._release(pool, conn, reuse=False)
                raise
            answer = Incoming(self, pool, conn, request, timeouts.get("read"))
            answer.status, answer.version, answer.reason = status, version, reason
            answer.headers, answer.framing, answer.left = headers, framing, length
            answer.keep = keep and not asks_close
            if framing == "none" or (framing == "length" and length == 0):
                answer.finish()
            return answer

    async def _acquire(
        self,
        pool: _Pool,
        key: tuple[str, str, int],
        request: httpx.Request | None,
        timeouts: dict[str, float | None],
        fresh: bool,
    ) -> _Connection:
        """An idle connection, a new one, or (at the limit) the next one released; `fresh`:
        a new one, closing the oldest idle one if the limit is reached."""
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        while True:
            idle = pool.idle
            if not fresh:
                now = time.monotonic()
                while idle:
                    conn = idle.pop()
                    if conn.usable(now):
                        conn.used += 1
                        return conn
                    conn.close()
                    pool.open -= 1
            elif idle and pool.open >= self.max_connections:
                idle.pop(0).close()
                pool.open -= 1
            if pool.open < self.max_connections:
                pool.open += 1
                try:
                    conn = await self._connect(key, request, timeouts.get("connect"))
                except BaseException:
                    pool.open -= 1
                    pool.wake_one()
                    raise
                conn.used = 1
                return conn
            limit = timeouts.get("pool")
            if limit is not None and deadline is None:
                deadline = loop.time() + limit
            waiter: asyncio.Future[None] = loop.create_future()
            pool.waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    pool.wake_one()  # we were woken but will not use the slot: pass it on
                if isinstance(exc, TimeoutError):
                    raise httpx.PoolTimeout(
                        f"no free connection to {key[1]} within {limit:g} s", request=request
                    ) from None
                raise

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            trust = self._trust() if callable(self._trust) else self._trust
            if trust is True:
                self._tls = ssl.create_default_context()
            elif trust is False:
                self._tls = insecure_context()
            else:
                self._tls = trust
        return self._tls

    async def _connect(
        self, key: tuple[str, str, int], request: httpx.Request | None, timeout: float | None
    ) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        conn = _Connection(loop)
        tls = self._tls_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(
                    lambda: conn, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(
                f"no connection to {host}:{port} within {timeout:g} s", request=request
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            raise httpx.ConnectError(
                f"the TLS certificate of {host} was not accepted: {exc.verify_message}",
                request=request,
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            conn.close()
            raise httpx.ConnectError(
                f"no connection to {host}:{port}: {exc}", request=request
            ) from exc
        self.connections_made += 1
        return conn

    def _release(self, pool: _Pool, conn: _Connection, *, reuse: bool) -> None:
        if reuse and not conn.eof and not self._closed:
            conn.idle_since = time.monotonic()
            pool.idle.append(conn)
        else:
            conn.close()
            pool.open -= 1
        pool.wake_one()

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            for conn in pool.idle:
                conn.close()
            pool.open -= len(pool.idle)
            pool.idle.clear()


class Incoming:
    """An answer whose head is read (`status`, `version`, `reason`, `headers` as received),
    its body still on the connection: `read` reads it whole (decoded), `pull` piece by piece
    (as it is framed: none, length, chunked or close). The connection goes back to the pool
    at the body's end; `close` before it drops the connection (what is left is unread)."""

    __slots__ = (
        "status",
        "version",
        "reason",
        "headers",
        "framing",
        "left",
        "state",
        "done",
        "keep",
        "network_stream",
        "_owner",
        "_pool",
        "_conn",
        "_request",
        "_timeout",
    )

    def __init__(
        self,
        owner: LeanTransport,
        pool: _Pool,
        conn: _Connection,
        request: httpx.Request | None,
        timeout: float | None,
    ) -> None:
        self.status = 0
        self.version = self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.framing = "none"
        self.left = 0  # of a Content-Length body, or of the current chunk
        self.state = "size"  # of a chunked body: size, data, end (of data), trailers
        self.done = False
        self.keep = False  # whether the connection may serve another request after the body
        self.network_stream = conn.transport  # for the TLS details (the doctor reads them)
        self._owner = owner
        self._pool = pool
        self._conn: _Connection | None = conn
        self._request = request
        self._timeout = timeout

    async def read(self, limit: int) -> bytes:
        """The whole body, decoded as its `Content-Encoding` says (gzip, deflate), at most
        `limit` bytes of it: past that, `BodyTooLarge` and the connection is dropped."""
        try:
            decoder = _decoder(self.headers)
            pieces: list[bytes] = []
            size = 0
            while not self.done:
                piece = self.pull()
                if not piece:
                    if not self.done:
                        await self.more()
                    continue
                if decoder is not None:
                    piece = decoder.decode(piece)
                size += len(piece)
                if size > limit:
                    raise BodyTooLarge(size)
                pieces.append(piece)
            if decoder is not None:
                pieces.append(decoder.flush())
                size += len(pieces[-1])
                if size > limit:
                    raise BodyTooLarge(size)
        except BaseException:
            self.close()
            raise
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def finish(self) -> None:
        """The body is complete: the connection may serve the next request."""
        self.done = True
        conn, self._conn = self._conn, None
        if conn is not None:
            self._owner._release(self._pool, conn, reuse=self.keep and not conn.buffer)

    def close(self) -> None:
        """Closing before the end drops the connection (what is left of the body is unread)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._owner._release(self._pool, conn, reuse=False)

    def pull(self) -> bytes:
        """The next piece of the body the connection's buffer holds; b"" when it holds none
        yet (then `more`, unless `done`)."""
        conn = self._conn
        if conn is None:
            self.done = True
            return b""
        framing = self.framing
        if framing == "length":
            if not conn.buffer:
                return b""
            piece = conn.take(self.left)
            self.left -= len(piece)
            if not self.left:
                self.finish()
            return piece
        if framing == "chunked":
            return self._chunk(conn)
        if framing == "close":
            if conn.buffer:
                return conn.take()
            if conn.eof:
                if conn.lost is not None:
                    raise conn.broken(self._request, "in the middle of the answer's body")
                self.finish()
        return b""

    async def more(self) -> None:
        """Wait for more of the body; the connection's end here is an error (a body that
        ends with its connection is complete before)."""
        conn = self._conn
        assert conn is not None
        if conn.eof:
            raise conn.broken(self._request, "in the middle of the answer's body")
        try:
            await conn.wait(self._timeout)
        except _TimedOut:
            raise httpx.ReadTimeout(
                f"the answer's body stalled for {self._timeout:g} s", request=self._request
            ) from None

    def _chunk(self, conn: _Connection) -> bytes:
        while True:
            if self.state == "data":
                if not conn.buffer:
                    return b""
                piece = conn.take(self.left)
                self.left -= len(piece)
                if not self.left:
                    self.state = "end"
                return piece
            line = self._line(conn)
            if line is None:
                return b""
            if self.state == "end":
                if line:
                    raise httpx.RemoteProtocolError(
                        "a chunk longer than its size", request=self._request
                    )
                self.state = "size"
            elif self.state == "trailers":
                if not line:  # trailers, up to the empty line
                    self.finish()
                    return b""
            else:
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise httpx.RemoteProtocolError(
                        f"a chunk size that is not a number: {line[:40]!r}",
                        request=self._request,
                    ) from None
                if size < 0:
                    raise httpx.RemoteProtocolError("a negative chunk size", request=self._request)
                self.left = size
                self.state = "data" if size else "trailers"

    def _line(self, conn: _Connection) -> bytes | None:
        """The next line of a chunked body's framing; None while it is incomplete."""
        buffer = conn.buffer
        end = buffer.find(b"\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD:
                raise httpx.RemoteProtocolError("a chunk line is too long", request=self._request)
            return None
        line = bytes(buffer[:end])
        del buffer[: end + 2]
        return line


class _Body(httpx.AsyncByteStream):
    """The answer's body for httpx's `Response`, as it arrives."""

    def __init__(self, answer: Incoming) -> None:
        self._answer = answer

    async def aclose(self) -> None:
        self._answer.close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        answer = self._answer
        try:
            while not answer.done:
                piece = answer.pull()
                if piece:
                    yield piece
                elif not answer.done:
                    await answer.more()
        except BaseException:
            answer.close()
            raise


class BodyTooLarge(Exception):
    """An answer's decoded body passed the caller's limit (`LeanTransport.exchange`)."""


class _Decoder:
    """One `Content-Encoding` undone as the body arrives (gzip, or deflate with or without
    its zlib wrapper), failing as httpx's decoders do (`httpx.DecodingError`)."""

    __slots__ = ("zlib", "deflate")

    def __init__(self, coding: str) -> None:
        self.deflate = coding == "deflate"  # may turn out to be raw deflate (no zlib header)
        self.zlib = zlib.decompressobj(zlib.MAX_WBITS if self.deflate else zlib.MAX_WBITS | 16)

    def decode(self, data: bytes) -> bytes:
        first, self.deflate = self.deflate, False
        try:
            return self.zlib.decompress(data)
        except zlib.error as exc:
            if first:
                self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data)
            raise httpx.DecodingError(str(exc)) from exc

    def flush(self) -> bytes:
        try:
            return self.zlib.flush()
        except zlib.error as exc:
            raise httpx.DecodingError(str(exc)) from exc


class _Decoders:
    """Several encodings, undone last first (`Content-Encoding: deflate, gzip`)."""

    __slots__ = ("chain",)

    def __init__(self, chain: list[_Decoder]) -> None:
        self.chain = chain

    def decode(self, data: bytes) -> bytes:
        for decoder in self.chain:
            data = decoder.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for decoder in self.chain:
            data = decoder.decode(data) + decoder.flush()
        return data


def _decoder(headers: list[tuple[bytes, bytes]]) -> _Decoder | _Decoders | None:
    """What undoes the answer's `Content-Encoding` (None: nothing to undo). As httpx's
    `Response`: gzip and deflate, each named encoding in turn; one it does not know
    (br, zstd: not asked for) is left as it is."""
    codings = [
        coding
        for name, value in headers
        if name.lower() == b"content-encoding"
        for part in value.split(b",")
        if (coding := part.strip().lower().decode("latin-1")) in ("gzip", "deflate")
    ]
    if not codings:
        return None
    if len(codings) == 1:
        return _Decoder(codings[0])
    return _Decoders([_Decoder(coding) for coding in reversed(codings)])


def _message(request: httpx.Request, body: bytes) -> tuple[bytes, bool]:
    """The request's bytes on the wire (request line, httpx's headers as they are, body), and
    whether it asks to close the connection after the answer."""
    url = request.url
    parts = [request.method.encode("ascii"), b" ", url.raw_path, b" HTTP/1.1\r\n"]
    chunked = close = False
    for name, value in request.headers.raw:
        parts += (name, b": ", value, b"\r\n")
        lower = name.lower()
        if lower == b"transfer-encoding" and value.lower() == b"chunked":
            chunked = True
        elif lower == b"connection" and b"close" in value.lower():
            close = True
    parts.append(b"\r\n")
    if chunked:
        if body:
            parts += (b"%x\r\n" % len(body), body, b"\r\n")
        parts.append(b"0\r\n\r\n")
    else:
        parts.append(body)
    return b"".join(parts), close


async def _send(
    conn: _Connection, message: bytes, request: httpx.Request | None, timeout: float | None
) -> None:
    transport = conn.transport
    if transport is None or conn.eof or transport.is_closing():
        raise _Closed()
    transport.write(message)
    drain = conn.drain
    if drain is not None:
        try:
            async with asyncio.timeout(timeout):
                await drain
        except TimeoutError:
            raise httpx.WriteTimeout(
                f"the request could not be sent within {timeout:g} s", request=request
            ) from None
        if conn.lost is not None and not conn.buffer:
            error = httpx.WriteError(
                f"the connection broke while sending: {conn.lost}", request=request
            )
            raise error from conn.lost


async def _read_head(
    conn: _Connection, request: httpx.Request | None, timeout: float | None
) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    """The status line and headers of the final answer (1xx interim answers are skipped)."""
    received = False
    while True:
        buffer = conn.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD:
                raise httpx.RemoteProtocolError(
                    "the answer's headers are too long", request=request
                )
            received = received or bool(buffer)
            if conn.eof:
                if not received:
                    closed = _Closed()
                    closed.__cause__ = conn.lost
                    raise closed
                raise conn.broken(request, "in the middle of the answer's headers")
            try:
                await conn.wait(timeout)
            except _TimedOut:
                raise httpx.ReadTimeout(
                    f"no answer within {timeout:g} s", request=request
                ) from None
            continue
        head = bytes(buffer[:end])
        del buffer[: end + 4]
        received = True
        status, version, reason, headers = _parse_head(head, request)
        if 100 <= status < 200 and status != 101:
            continue
        if status == 101:
            raise httpx.RemoteProtocolError(
                "the server switched protocols (HTTP 101)", request=request
            )
        return status, version, reason, headers


def _parse_head(
    head: bytes, request: httpx.Request | None
) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise httpx.RemoteProtocolError(
            f"not an HTTP/1.x status line: {lines[0][:60]!r}", request=request
        )
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and headers:  # an obsolete folded continuation
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise httpx.RemoteProtocolError(
                f"a malformed header line: {line[:60]!r}", request=request
            )
        headers.append((name, value.strip(b" \t")))
    return int(code), version, reason, headers


def _framing(
    status: int,
    version: bytes,
    headers: list[tuple[bytes, bytes]],
    head_only: bool,
    request: httpx.Request | None,
) -> tuple[str, int, bool]:
    """(how the body ends: none, length, chunked or close; its length; keep-alive?)."""
    lengths: set[bytes] = set()
    coding = b""
    connection = b""
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            lengths.update(v.strip() for v in value.split(b","))
        elif lower == b"transfer-encoding":
            coding = value.lower()
        elif lower == b"connection":
            connection += b"," + value.lower()
    tokens = {t.strip() for t in connection.split(b",")}
    keep = b"close" not in tokens and (version == b"HTTP/1.1" or b"keep-alive" in tokens)
    if head_only or status in NO_BODY_STATUS or status < 200:
        return "none", 0, keep
    if coding:
        if coding.rsplit(b",", 1)[-1].strip() == b"chunked":
            return "chunked", 0, keep
        return "close", 0, False
    if lengths:
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise httpx.RemoteProtocolError(
                f"a malformed Content-Length: {sorted(lengths)}", request=request
            )
        return "length", int(next(iter(lengths))), keep
    return "close", 0, False
