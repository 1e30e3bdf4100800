"""An async httpx transport that runs a WSGI app (the simulator) in worker threads.

httpx ships only a synchronous `WSGITransport`; the sync client is async, so tests and `demo`
need this bridge. It honours the request's read timeout so a hanging server (the simulator's
`timeout` fault) surfaces as `httpx.ReadTimeout`, exactly as over a socket.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx


class AsyncWSGITransport(httpx.AsyncBaseTransport):
    """Call `app` (a WSGI callable) in a thread pool for each request."""

    def __init__(self, app, *, max_workers: int = 8) -> None:
        self._sync = httpx.WSGITransport(app=app)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="wsgi")

    def _call(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = self._sync.handle_request(request)
        body = response.read()
        return response.status_code, response.headers.raw, body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sync_request = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )
        timeout = (request.extensions.get("timeout") or {}).get("read")
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._call, sync_request)
        try:
            status, headers, content = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise httpx.ReadTimeout("the server did not answer in time", request=request) from None
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
