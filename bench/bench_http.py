"""The portal client's HTTP cost per request (issue 14, goal 1): client CPU of 2,000 small
GETs through `PortalClient` (4 at a time, as a sync sends them) against the simulator in
another process on 127.0.0.1, over the lean keep-alive transport a sync uses and over httpx's
own transport, for comparison. The answer is not parsed, so the figure is what the request
itself costs: building it, the socket, reading the answer, the client's checks. The lean
figure is the best of three rounds (a busy machine only adds to it).

Run from the repository root: `.venv/bin/python bench/bench_http.py` (about 15 s)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import admin_account, start_simulator  # noqa: E402

from asurso_sync.config import PortalSettings  # noqa: E402
from asurso_sync.portal.client import PortalClient  # noqa: E402

REQUESTS = 2000
CONCURRENCY = 4
# Our own share for HTTP in issue 14's goal 1: a school sync's 1,830 requests within ~0.3 s of
# client CPU, a tenth of the 3× budget beside the bare anchor.
GOAL_MS = 0.15
ROUNDS = 3


async def cpu_per_request(settings: PortalSettings, account: dict, httpx_own: bool) -> float:
    """Milliseconds of this process's CPU per request."""
    limits = httpx.Limits(max_connections=CONCURRENCY)
    transport = httpx.AsyncHTTPTransport(limits=limits) if httpx_own else None
    async with PortalClient(
        settings, account["login"], account["password"], transport=transport
    ) as client:
        await client.login()

        async def worker() -> None:
            for _ in range(REQUESTS // CONCURRENCY):
                await client.get("context", first_look=lambda _body: True)

        started = time.process_time()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return (time.process_time() - started) / REQUESTS * 1000


def main() -> int:
    account = admin_account("small")
    simulator, url = start_simulator("small", 0)
    try:
        settings = PortalSettings(
            base_url=url, school_id=account["school_id"], concurrency=CONCURRENCY
        )
        rounds = [
            asyncio.run(cpu_per_request(settings, account, httpx_own=False)) for _ in range(ROUNDS)
        ]
        lean = min(rounds)
        own = asyncio.run(cpu_per_request(settings, account, httpx_own=True))
    finally:
        simulator.terminate()
    verdict = "meets" if lean <= GOAL_MS else "MISSES"
    print(f"{REQUESTS} requests, {CONCURRENCY} at a time, client CPU per request:")
    every = ", ".join(f"{r:.3f}" for r in rounds)
    print(f"  lean keep-alive transport: {lean:.3f} ms (goal ≤ {GOAL_MS} ms: {verdict}; {every})")
    print(f"  httpx's own transport:     {own:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
