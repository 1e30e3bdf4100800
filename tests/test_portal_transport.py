"""The lean HTTP/1.1 transport against a real server on 127.0.0.1: keep-alive reuse and the
connection limit, Content-Length, chunked and read-until-close bodies, servers that close
kept-alive connections, broken answers, time-outs, the answer size cap, gzip, and HTTPS with a
self-signed certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import logging
import random
import ssl
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from simclient import account

from asurso_sync.config import PortalSettings
from asurso_sync.errors import AnswerTooLarge, PortalError
from asurso_sync.portal.client import RUSSIAN_CA_HINT, PortalClient, network_transport
from asurso_sync.portal.doctor import Recorder
from asurso_sync.portal.transport import LeanTransport
from asurso_sync.simulator import make_app
from asurso_sync.simulator.server import serve

TLS = Path(__file__).resolve().parent / "fixtures" / "simulator_tls"
CERT, KEY = str(TLS / "cert.pem"), str(TLS / "key.pem")
SCHOOLS = [{"id": 39, "name": "Школа № 1", "shortName": "Школа 1"}]
PARSED = [{"id": 39, "name": "Школа № 1", "short_name": "Школа 1"}]
MB = 1024 * 1024


@dataclass
class Seen:
    """One request as the server read it, and on which connection (1, 2, ...)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int
    raw: bytes = b""  # the request as it came: request line, headers, body


Answer = Callable[[Seen, asyncio.StreamWriter], Awaitable[bool]]


class Server:
    """An HTTP/1.1 server in the test's event loop; `answer(seen, writer)` writes each answer
    and returns whether to keep the connection open for the next request."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.requests: list[Seen] = []
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.url = ""

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                    return
                line, *fields = head.decode("latin-1").split("\r\n")[:-2]
                method, path, _ = line.split(" ")
                headers = {}
                for field in fields:
                    name, _, value = field.partition(":")
                    headers[name.lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, path, headers, body, number, head + body)
                self.requests.append(seen)
                if not await self.answer(seen, writer):
                    return
        except asyncio.CancelledError:
            return  # the test is over (3.11's streams log a cancelled handler as an error)
        finally:
            self.open -= 1
            writer.close()


def sized(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def schools_answer() -> bytes:
    return sized(json.dumps(SCHOOLS).encode(), "Content-Type: application/json")


def portal(url: str, transport: httpx.AsyncBaseTransport | None = None, **settings) -> PortalClient:
    """A client on the network path (no transport given): the lean transport."""

    async def no_sleep(_seconds: float) -> None:
        pass

    values = {"base_url": url, "school_id": 39, "max_retries": 2, "timeout_s": 5.0, **settings}
    return PortalClient(
        PortalSettings(**values),
        "admin",
        "pw",
        rng=random.Random(1),
        sleep=no_sleep,
        transport=transport,
    )


def httpx_own() -> httpx.AsyncHTTPTransport:
    """httpx's own transport: the client's path for any transport but the lean one."""
    return httpx.AsyncHTTPTransport()


BOTH_PATHS = pytest.mark.parametrize("transport", [None, httpx_own], ids=["lean", "httpx"])


async def schools(client: PortalClient) -> list:
    async with client:
        return await client.search_schools("Школа")


# --- keep-alive ----------------------------------------------------------------------------


def test_one_connection_serves_many_requests_one_after_another():
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(sized(f"answer to {seen.path}".encode()))
        return True

    async def go():
        async with Server(answer) as server:
            transport = LeanTransport(max_connections=4)
            async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
                texts = [(await client.get(f"/n/{i}")).text for i in range(20)]
            return texts, server.connections, transport.connections_made

    texts, connections, made = asyncio.run(go())
    assert texts == [f"answer to /n/{i}" for i in range(20)]
    assert (connections, made) == (1, 1)


def test_at_most_n_connections_at_concurrency_n():
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        writer.write(sized(seen.path.encode()))
        return True

    async def go():
        async with Server(answer) as server:
            transport = LeanTransport(max_connections=3)
            async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
                answers = await asyncio.gather(*(client.get(f"/{i}") for i in range(12)))
            return [a.text for a in answers], server.connections, server.most_open

    texts, connections, most_open = asyncio.run(go())
    assert texts == [f"/{i}" for i in range(12)]
    assert (connections, most_open) == (3, 3)


def test_the_portal_client_keeps_one_connection_for_its_requests():
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(schools_answer())
        return True

    async def go():
        async with Server(answer) as server:
            async with portal(server.url, concurrency=2) as client:
                found = [await client.search_schools("Школа") for _ in range(5)]
            return found, server.connections, server.requests[0].headers

    found, connections, headers = asyncio.run(go())
    assert (found, connections) == ([PARSED] * 5, 1)
    assert headers["connection"] == "keep-alive"


# --- bodies --------------------------------------------------------------------------------


def test_chunked_sized_and_bodiless_answers_share_one_connection():
    answers = {
        "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"7\r\nHello, \r\n7;ext=1\r\nchunked\r\n0\r\nX-Trailer: yes\r\n\r\n",
        "/sized": sized(b"a sized body"),
        "/head": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        "/empty": b"HTTP/1.1 204 No Content\r\n\r\n",
        "/same": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        "/interim": b"HTTP/1.1 100 Continue\r\n\r\n" + sized(b"after 100"),
    }

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(answers[seen.path])
        return True

    async def go():
        async with Server(answer) as server:
            async with httpx.AsyncClient(transport=LeanTransport(), base_url=server.url) as client:
                got = []
                for method, path in [
                    ("GET", "/chunked"),
                    ("GET", "/sized"),
                    ("HEAD", "/head"),
                    ("GET", "/empty"),
                    ("GET", "/same"),
                    ("GET", "/interim"),
                    ("GET", "/chunked"),
                ]:
                    response = await client.request(method, path)
                    got.append((path, response.status_code, response.content))
            return got, server.connections

    got, connections = asyncio.run(go())
    assert got == [
        ("/chunked", 200, b"Hello, chunked"),
        ("/sized", 200, b"a sized body"),
        ("/head", 200, b""),
        ("/empty", 204, b""),
        ("/same", 304, b""),
        ("/interim", 200, b"after 100"),
        ("/chunked", 200, b"Hello, chunked"),
    ]
    assert connections == 1


def test_an_http_1_0_answer_without_length_ends_with_its_connection():
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        writer.write(f"all of {seen.path} until the end".encode())
        return False  # closing the connection ends the body

    async def go():
        async with Server(answer) as server:
            async with httpx.AsyncClient(transport=LeanTransport(), base_url=server.url) as client:
                texts = [(await client.get(p)).text for p in ("/a", "/b")]
                version = (await client.get("/c")).http_version
            return texts, version, server.connections

    assert asyncio.run(go()) == (
        ["all of /a until the end", "all of /b until the end"],
        "HTTP/1.0",
        3,
    )


def test_gzip_answers_are_decoded_by_the_client():
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        packed = gzip.compress(json.dumps(SCHOOLS).encode())
        writer.write(sized(packed, "Content-Type: application/json", "Content-Encoding: gzip"))
        return True

    async def go():
        async with Server(answer) as server:
            found = await schools(portal(server.url))
            return found, server.requests[0].headers["accept-encoding"]

    assert asyncio.run(go()) == (PARSED, "gzip, deflate")


@BOTH_PATHS
def test_a_corrupt_gzip_answer_is_retried_like_a_broken_body(transport):
    packed = gzip.compress(json.dumps(SCHOOLS).encode())

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        body = packed if len(server.requests) > 1 else b"not gzip at all"
        writer.write(sized(body, "Content-Type: application/json", "Content-Encoding: gzip"))
        return True

    async def go():
        async with server:
            client = portal(server.url, transport and transport())
            return await schools(client), client.retries

    server = Server(answer)
    assert asyncio.run(go()) == (PARSED, 1)


def test_the_doctor_records_a_gzip_answer_and_passes_it_on_decoded():
    packed = gzip.compress(json.dumps(SCHOOLS).encode())

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(sized(packed, "Content-Type: application/json", "Content-Encoding: gzip"))
        return True

    async def go():
        async with Server(answer) as server:
            settings = PortalSettings(base_url=server.url, school_id=39)
            recorder = Recorder(network_transport(settings))
            async with PortalClient(settings, "admin", "pw", transport=recorder) as client:
                found = await client.search_schools("Школа")
            return found, [(e.path, e.status, e.body) for e in recorder.exchanges]

    assert asyncio.run(go()) == (
        PARSED,
        [("/webapi/schools/search", 200, json.dumps(SCHOOLS).encode())],
    )


# --- the client's two paths: the lean transport's and httpx's ----------------------------


def test_the_lean_path_sends_the_bytes_httpx_would_send_and_reads_answers_alike():
    """The client puts its requests into bytes itself on the lean transport: the same bytes
    as httpx's own request through httpx's own transport (query, form, headers, cookies)."""

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.path.startswith("/webapi/first"):
            cookie = "Set-Cookie: ESRNSec=sec; path=/"
            writer.write(sized(b'{"a": 1}', "Content-Type: application/json", cookie))
        elif seen.method == "POST":
            page = "<html>отчёт</html>".encode()
            writer.write(sized(page, "Content-Type: text/html; charset=utf-8"))
        else:
            writer.write(schools_answer())
        return True

    async def session(transport: httpx.AsyncBaseTransport | None) -> tuple[list, list[bytes]]:
        async with Server(answer) as server:
            async with portal(server.url, transport) as client:
                client.use_session("AT-1", {"NSSESSIONID": "abc"})
                query = {
                    "yearId": 7,
                    "ids": [1, 2],
                    "all": True,
                    "none": None,
                    "day": dt.date(2026, 6, 30),
                    "name": "Школа № 1 & «А»",
                }
                got = [
                    await client.get("first", query),
                    await client.get("second"),  # with the cookie the first answer set
                    await client.post_html("asp/Reports/Report.asp", {"A": "ж б+в", "N": "1"}),
                    await client.search_schools("Школа"),
                ]
            host = server.url.removeprefix("http://").encode()
            return got, [seen.raw.replace(host, b"HOST") for seen in server.requests]

    lean, lean_wire = asyncio.run(session(None))
    own, own_wire = asyncio.run(session(httpx_own()))
    assert lean == own == [{"a": 1}, SCHOOLS, "<html>отчёт</html>".encode(), PARSED]
    assert lean_wire == own_wire
    every = (
        b"Referer: http://HOST/\r\nX-Requested-With: XMLHttpRequest\r\n"
        b"Accept: application/json, text/javascript, */*; q=0.01\r\n"
        b"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nUser-Agent: asurso-sync\r\n"
    )
    assert lean_wire == [
        b"GET /webapi/first?yearId=7&ids=1&ids=2&all=true&none=&day=2026-06-30"
        b"&name=%D0%A8%D0%BA%D0%BE%D0%BB%D0%B0+%E2%84%96+1+%26+%C2%AB%D0%90%C2%BB HTTP/1.1\r\n"
        b"Host: HOST\r\n" + every + b"at: AT-1\r\nCookie: NSSESSIONID=abc\r\n\r\n",
        b"GET /webapi/second HTTP/1.1\r\nHost: HOST\r\n"
        + every
        + b"at: AT-1\r\nCookie: NSSESSIONID=abc; ESRNSec=sec\r\n\r\n",
        b"POST /asp/Reports/Report.asp HTTP/1.1\r\nHost: HOST\r\n"
        + every
        + b"at: AT-1\r\nCookie: NSSESSIONID=abc; ESRNSec=sec\r\n"
        b"Content-Length: 28\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
        b"A=%D0%B6+%D0%B1%2B%D0%B2&N=1",
        b"GET /webapi/schools/search?name=%D0%A8%D0%BA%D0%BE%D0%BB%D0%B0 HTTP/1.1\r\n"
        b"Host: HOST\r\n" + every + b"Cookie: NSSESSIONID=abc; ESRNSec=sec\r\n\r\n",
    ]


@BOTH_PATHS
def test_deflate_with_or_without_its_wrapper_and_stacked_codings_are_undone(transport):
    body = json.dumps(SCHOOLS).encode()
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bodies = [
        (zlib.compress(body), "deflate"),
        (raw_deflate.compress(body) + raw_deflate.flush(), "deflate"),
        (gzip.compress(zlib.compress(body)), "deflate, gzip"),
        (body, "identity"),
    ]

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        packed, coding = bodies[len(server.requests) - 1]
        writer.write(sized(packed, "Content-Type: application/json", f"Content-Encoding: {coding}"))
        return True

    async def go():
        async with server, portal(server.url, transport and transport()) as client:
            return [await client.search_schools("Школа") for _ in bodies], client.retries

    server = Server(answer)
    assert asyncio.run(go()) == ([PARSED] * 4, 0)


@BOTH_PATHS
def test_each_request_logs_one_http_line_and_a_redirect_names_its_target(transport, caplog):
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.path.startswith("/webapi/schools"):
            writer.write(schools_answer())
        else:
            writer.write(sized(b"", "Location: https://example.org/moved", status="302 Found"))
        return True

    async def go():
        async with Server(answer) as server:
            async with portal(server.url, transport and transport()) as client:
                client.use_session("AT-1", {})
                found = await client.search_schools("Школа")
                with pytest.raises(PortalError) as moved:
                    await client.get("context")
            return server.url, found, str(moved.value)

    caplog.set_level(logging.INFO, logger="httpx")
    url, found, moved = asyncio.run(go())
    assert found == PARSED
    assert moved == (
        "the portal redirected context (HTTP 302) to https://example.org/moved; check "
        "[portal] base_url (https://, the exact host)"
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines[-2:] == [
        f"HTTP Request: GET {url}/webapi/schools/search?name=%D0%A8%D0%BA%D0%BE%D0%BB%D0%B0 "
        '"HTTP/1.1 200 OK"',
        f'HTTP Request: GET {url}/webapi/context "HTTP/1.1 302 Found"',
    ]


@BOTH_PATHS
def test_a_login_that_sets_the_session_cookie_twice_keeps_the_real_one(small_school, transport):
    """asurso.ru's login answer sets `ESRNSec` twice, the second one empty (CONTRACT §1): the
    client logs in over 127.0.0.1, keeps the real value, and its calls pass without a
    re-login, on the lean transport as on httpx's."""
    app = make_app(small_school, as_of=dt.date.today(), quirks="empty_cookie")
    acc = account(app, "admin")

    async def go(url: str) -> tuple:
        settings = PortalSettings(base_url=url, school_id=acc["school_id"], max_retries=1)
        async with PortalClient(
            settings, acc["login"], acc["password"], transport=transport and transport()
        ) as client:
            await client.login()
            context = await client.get("context")
            kept = [(c.name, c.path, bool(c.value)) for c in client.cookies.jar]
            return kept, context["schoolId"] == acc["school_id"], client.relogins, client.retries

    with serve(app) as server:
        kept, same_school, relogins, retries = asyncio.run(go(server.url))
    assert ("ESRNSec", "/", True) in kept
    assert [name for name, _, _ in kept].count("ESRNSec") == 1
    assert (same_school, relogins, retries) == (True, 0, 0)


# --- servers that close connections --------------------------------------------------------


def test_a_connection_the_server_closed_while_idle_is_not_reused():
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(sized(b"ok"))  # kept alive as far as the headers say, then closed
        return False

    async def go():
        async with Server(answer) as server:
            async with httpx.AsyncClient(transport=LeanTransport(), base_url=server.url) as client:
                first = (await client.get("/a")).text
                await asyncio.sleep(0.05)  # the server's FIN arrives while the connection idles
                second = (await client.get("/b")).text
            return first, second, [(s.path, s.connection) for s in server.requests]

    assert asyncio.run(go()) == ("ok", "ok", [("/a", 1), ("/b", 2)])


def test_a_request_that_meets_a_closing_connection_goes_again_on_a_fresh_one():
    """A GET, or any request on a reused connection, that the server drops before a byte
    of the answer is sent once more; a POST on a fresh connection is not."""

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.method == "POST" or (seen.path == "/b" and seen.connection == 1):
            return False  # closed without a word
        writer.write(sized(seen.path.encode()))
        return True

    async def go():
        async with Server(answer) as server:
            async with httpx.AsyncClient(transport=LeanTransport(), base_url=server.url) as client:
                texts = [(await client.get(p)).text for p in ("/a", "/b")]
                errors = []
                for _ in range(2):
                    with pytest.raises(httpx.RemoteProtocolError) as caught:
                        await client.post("/form", data={"x": "1"})
                    errors.append(str(caught.value))
            return texts, errors, [(s.method, s.path, s.connection) for s in server.requests]

    texts, errors, seen = asyncio.run(go())
    assert texts == ["/a", "/b"]
    assert errors == ["the server closed the connection before answering"] * 2
    assert seen == [
        ("GET", "/a", 1),
        ("GET", "/b", 1),  # dropped: sent again on connection 2
        ("GET", "/b", 2),
        ("POST", "/form", 2),  # a reused connection: sent again on connection 3
        ("POST", "/form", 3),
        ("POST", "/form", 4),  # a fresh connection: not sent again
    ]


def test_a_connection_dropped_mid_body_is_an_error_the_client_retries():
    body = json.dumps(SCHOOLS).encode()

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.connection <= 2:  # the first of each client (two clients here)
            writer.write(sized(body)[:-10])  # ten bytes short, then the connection is gone
            await writer.drain()
            return False
        writer.write(sized(body, "Content-Type: application/json"))
        return True

    async def go():
        async with Server(answer) as server:
            async with httpx.AsyncClient(transport=LeanTransport(), base_url=server.url) as plain:
                with pytest.raises(httpx.RemoteProtocolError) as caught:
                    await plain.get("/webapi/schools/search")
            client = portal(server.url)
            found = await schools(client)
            return str(caught.value), found, client.retries, server.connections

    assert asyncio.run(go()) == (
        "the server closed the connection in the middle of the answer's body",
        PARSED,
        1,
        3,
    )


def test_an_answer_closed_unread_drops_its_connection_and_the_pool_waits_for_a_free_one():
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        close = "Connection: close" if seen.path == "/last" else "X-Kept: yes"
        writer.write(sized(f"body of {seen.path}".encode(), close))
        return seen.path != "/last"

    async def go():
        async with Server(answer) as server:
            async with httpx.AsyncClient(
                transport=LeanTransport(max_connections=1),
                base_url=server.url,
                timeout=httpx.Timeout(5.0, pool=0.1),
            ) as client:
                held = await client.send(client.build_request("GET", "/held"), stream=True)
                with pytest.raises(httpx.PoolTimeout) as caught:
                    await client.get("/waiting")
                await held.aclose()  # its body unread: the connection is closed, not reused
                texts = [(await client.get(p)).text for p in ("/next", "/last", "/after")]
            return str(caught.value), texts, [(s.path, s.connection) for s in server.requests]

    assert asyncio.run(go()) == (
        "no free connection to 127.0.0.1 within 0.1 s",
        ["body of /next", "body of /last", "body of /after"],
        [("/held", 1), ("/next", 2), ("/last", 2), ("/after", 3)],
    )


def test_a_refused_connection_is_a_connect_error_with_its_cause():
    async def go():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()  # nothing listens on the port now
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get(f"http://127.0.0.1:{port}/")
        return port, str(caught.value), type(caught.value.__cause__)

    port, message, cause = asyncio.run(go())
    assert (message, cause) == (
        f"no connection to 127.0.0.1:{port}: [Errno 111] Connect call failed ('127.0.0.1', {port})",
        ConnectionRefusedError,
    )


# --- time-outs and the size cap -----------------------------------------------------------


def test_a_silent_server_is_a_read_timeout():
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async def go():
        async with Server(answer) as server:
            async with httpx.AsyncClient(
                transport=LeanTransport(), base_url=server.url, timeout=0.2
            ) as client:
                with pytest.raises(httpx.ReadTimeout) as caught:
                    await client.get("/slow")
            return str(caught.value)

    assert asyncio.run(go()) == "no answer within 0.2 s"


@BOTH_PATHS
def test_the_size_cap_stops_reading_a_huge_streamed_answer_and_drops_its_connection(transport):
    sent = []

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.connection > 1:
            writer.write(schools_answer())
            return True
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n" % (64 * 1024) + b" " * (64 * 1024) + b"\r\n"
        try:
            for _ in range(1024):  # 64 MB if the client read it all
                writer.write(chunk)
                await writer.drain()
                sent.append(len(chunk))
        except ConnectionError:
            pass
        return False

    async def go():
        async with Server(answer) as server:
            async with portal(server.url, transport and transport(), max_answer_mb=1) as client:
                with pytest.raises(AnswerTooLarge) as caught:
                    await client.search_schools("Школа")
                found = await client.search_schools("Школа")
            await asyncio.sleep(0.05)
            return str(caught.value), found, server.connections

    message, found, connections = asyncio.run(go())
    assert (message, found, connections) == (
        "the portal's answer to schools/search is larger than 1 MB ([portal] max_answer_mb); "
        "stopped reading it",
        PARSED,
        2,
    )
    assert sum(sent) < 16 * MB  # the client stopped reading: the server could not send it all


# --- HTTPS ---------------------------------------------------------------------------------


def test_https_with_a_self_signed_certificate_is_refused_unless_trusted():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(schools_answer())
        return True

    async def go():
        async with Server(answer, tls=context) as server:
            with pytest.raises(PortalError) as refused:
                await schools(portal(server.url))
            trusted = await schools(portal(server.url, ca_bundle=CERT))
            unchecked = await schools(portal(server.url, verify_tls=False))
            return server.url, str(refused.value), trusted, unchecked

    url, refused, trusted, unchecked = asyncio.run(go())
    assert refused == (
        f"the portal's TLS certificate was not accepted (self-signed certificate) on {url}; "
        + RUSSIAN_CA_HINT
    )
    assert (trusted, unchecked) == (PARSED, PARSED)


def test_the_tls_trust_given_as_a_function_is_made_at_the_first_https_connection_only():
    """A plain http:// portal never loads the TLS roots (~30 ms); an https:// one loads them
    once, at its first connection."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(CERT, KEY)
    made = []

    def trust() -> ssl.SSLContext:
        made.append(1)
        return ssl.create_default_context(cafile=str(CERT))

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(schools_answer())
        return False  # a new connection for each request

    async def go():
        async with Server(answer) as plain:
            found = await schools(portal(plain.url, LeanTransport(tls=trust)))
            assert (found, made) == (PARSED, [])
        async with Server(answer, tls=server_context) as secure:
            client = portal(secure.url, LeanTransport(tls=trust))
            async with client:
                first = await client.search_schools("Школа")
                second = await client.search_schools("Школа")
            return first, second, secure.connections

    first, second, connections = asyncio.run(go())
    assert (first, second, connections, made) == (PARSED, PARSED, 2, [1])


def test_a_plain_http_portal_gets_a_transport_that_loads_no_tls_roots(monkeypatch):
    loaded = []
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: loaded.append(a))
    transport = network_transport(PortalSettings(base_url="http://127.0.0.1:8080"))
    assert isinstance(transport, LeanTransport) and loaded == []
