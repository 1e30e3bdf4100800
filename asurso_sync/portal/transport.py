"""A lean HTTP/1.1 keep-alive transport for httpx, written over `asyncio.Protocol`.

httpx's own transport (httpcore over anyio over asyncio streams) costs ~0.5 ms of CPU a
request more than this one (bench/bench_http.py); a full sync makes ~2,000 requests, so this
transport speaks HTTP/1.1 itself:
a pool of at most `max_connections` connections per origin, idle ones reused (LIFO),
Content-Length, chunked and read-until-close bodies, HTTP/1.0 answers, no body for HEAD, 1xx,
204 and 304. The body streams: a caller may stop reading a huge answer at any point, and
closing a response before its end drops that connection instead of reusing it.

The request goes out exactly as httpx built it (its headers, its `Accept-Encoding`); decoding
the content (gzip) stays httpx's job. Failures surface as httpx's exceptions, with the
original one chained (`ConnectError` from the `ssl.SSLCertVerificationError` of a refused
certificate), time-outs as `ConnectTimeout`, `ReadTimeout`, `WriteTimeout`, `PoolTimeout`
from `request.extensions["timeout"]`.

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
from collections.abc import AsyncIterator

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

    def broken(self, request: httpx.Request, when: str) -> httpx.TransportError:
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


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive over asyncio; `tls` is the `ssl.SSLContext` for https://
    (True: the system's default trust; False: no checks at all)."""

    def __init__(self, *, tls: ssl.SSLContext | bool = True, max_connections: int = 4) -> None:
        if tls is True:
            self._tls = ssl.create_default_context()
        elif tls is False:
            self._tls = insecure_context()
        else:
            self._tls = tls
        self.max_connections = max(1, max_connections)
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self.connections_made = 0  # how many TCP connections were opened (a test reads it)
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in DEFAULT_PORT:
            raise httpx.UnsupportedProtocol(f"no support for {scheme}:// URLs", request=request)
        key = (scheme, url.host, url.port or DEFAULT_PORT[scheme])
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool()
        timeouts: dict[str, float | None] = request.extensions.get("timeout") or {}
        message, asks_close = _message(request, await request.aread())
        method = request.method.encode("ascii")
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
            break
        keep = keep and not asks_close
        stream = _Body(self, pool, conn, request, framing, length, keep, timeouts.get("read"))
        if framing == "none" or (framing == "length" and length == 0):
            stream.finish()
        return httpx.Response(
            status,
            headers=headers,
            stream=stream,
            request=request,
            extensions={
                "http_version": version,
                "reason_phrase": reason,
                "network_stream": conn.transport,
            },
        )

    async def _acquire(
        self,
        pool: _Pool,
        key: tuple[str, str, int],
        request: httpx.Request,
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

    async def _connect(
        self, key: tuple[str, str, int], request: httpx.Request, timeout: float | None
    ) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        conn = _Connection(loop)
        tls = self._tls if scheme == "https" else None
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


class _Body(httpx.AsyncByteStream):
    """The answer's body as it arrives; the connection goes back to the pool at its end."""

    def __init__(
        self,
        owner: LeanTransport,
        pool: _Pool,
        conn: _Connection,
        request: httpx.Request,
        framing: str,
        length: int,
        keep: bool,
        timeout: float | None,
    ) -> None:
        self._owner = owner
        self._pool = pool
        self._conn: _Connection | None = conn
        self._request = request
        self._framing = framing
        self._length = length
        self._keep = keep
        self._timeout = timeout

    def finish(self) -> None:
        """The body is complete: the connection may serve the next request."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._owner._release(self._pool, conn, reuse=self._keep and not conn.buffer)

    async def aclose(self) -> None:
        """Closing before the end drops the connection (what is left of the body is unread)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._owner._release(self._pool, conn, reuse=False)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            if self._framing == "length":
                async for chunk in self._exactly(conn, self._length):
                    yield chunk
            elif self._framing == "chunked":
                async for chunk in self._chunked(conn):
                    yield chunk
            else:
                async for chunk in self._until_close(conn):
                    yield chunk
        except BaseException:
            await self.aclose()
            raise
        self.finish()

    async def _fill(self, conn: _Connection, *, end_ok: bool = False) -> None:
        """Wait for more of the body; the end of the connection here is an error unless
        `end_ok` (a body that ends with its connection)."""
        if conn.eof and not end_ok:
            raise conn.broken(self._request, "in the middle of the answer's body")
        try:
            await conn.wait(self._timeout)
        except _TimedOut:
            raise httpx.ReadTimeout(
                f"the answer's body stalled for {self._timeout:g} s", request=self._request
            ) from None

    async def _exactly(self, conn: _Connection, size: int) -> AsyncIterator[bytes]:
        """The next `size` bytes of the body, as they arrive."""
        remaining = size
        while remaining:
            if not conn.buffer:
                await self._fill(conn)
                continue
            chunk = conn.take(remaining)
            remaining -= len(chunk)
            yield chunk

    async def _line(self, conn: _Connection) -> bytes:
        while True:
            end = conn.buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(conn.buffer[:end])
                del conn.buffer[: end + 2]
                return line
            if len(conn.buffer) > MAX_HEAD:
                raise httpx.RemoteProtocolError("a chunk line is too long", request=self._request)
            await self._fill(conn)

    async def _chunked(self, conn: _Connection) -> AsyncIterator[bytes]:
        while True:
            line = await self._line(conn)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise httpx.RemoteProtocolError(
                    f"a chunk size that is not a number: {line[:40]!r}", request=self._request
                ) from None
            if size < 0:
                raise httpx.RemoteProtocolError("a negative chunk size", request=self._request)
            if size == 0:
                while await self._line(conn):  # trailers, up to the empty line
                    pass
                return
            async for chunk in self._exactly(conn, size):
                yield chunk
            if await self._line(conn):
                raise httpx.RemoteProtocolError(
                    "a chunk longer than its size", request=self._request
                )

    async def _until_close(self, conn: _Connection) -> AsyncIterator[bytes]:
        while True:
            if conn.buffer:
                yield conn.take()
            elif conn.eof:
                if conn.lost is not None:
                    raise conn.broken(self._request, "in the middle of the answer's body")
                return
            else:
                await self._fill(conn, end_ok=True)


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
    conn: _Connection, message: bytes, request: httpx.Request, timeout: float | None
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
    conn: _Connection, request: httpx.Request, timeout: float | None
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
    head: bytes, request: httpx.Request
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
    request: httpx.Request,
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
