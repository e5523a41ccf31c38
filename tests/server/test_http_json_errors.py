"""Every error is a JSON body (issue 9, item 5), including what aiohttp answers by
itself: requests its HTTP parser refuses before any middleware runs (a bad request
line, a malformed header, an over-long header line), an unknown route, a wrong method,
an unknown path under ``/admin``. The parser cases need the real ``serve`` process
(``main.py`` serves through ``JsonErrorRunner``)."""

from __future__ import annotations

import asyncio

import pytest
from http_helpers import HOST, Serve, Spawn, validate_error


async def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(data)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return status, headers, body


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
    b"POST /world/story/rule-event HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
], ids=["request-line", "header", "long-header", "content-length"])
async def test_what_the_http_parser_refuses_is_a_json_error(spawn: Spawn,
                                                            request_bytes: bytes) -> None:
    proc = spawn()
    await proc.restart()
    status, headers, body = await _raw(proc.port, request_bytes)
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    err = validate_error(body)
    assert err.error.code == "bad_request" and "not valid HTTP" in err.error.message
    status, _, _ = await _raw(proc.port, b"GET /health HTTP/1.1\r\nHost: x\r\n"
                                         b"Connection: close\r\n\r\n")
    assert status == 200  # still serving


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/no/such/route", 404, "not_found"),
    ("DELETE", "/health", 405, "method_not_allowed"),
    ("PUT", "/world/story/rule-event", 405, "method_not_allowed"),
    ("GET", "/admin/no-such", 404, "not_found"),
    ("GET", "/admin/reload", 405, "method_not_allowed"),
])
async def test_router_errors_are_json(serve: Serve, method: str, path: str, status: int,
                                      code: str) -> None:
    srv = await serve()
    async with srv.session.request(method, srv.url(path)) as r:
        assert r.status == status
        assert r.content_type == "application/json"
        assert validate_error(await r.read()).error.code == code


async def test_admin_paths_need_the_admin_token_even_when_unknown(serve: Serve) -> None:
    srv = await serve(token="t", admin_token="a")
    for path in ("/admin/levels", "/admin/no-such"):
        status, body = await srv.get(path, headers={"Authorization": "Bearer t"})
        assert status == 401 and validate_error(body).error.code == "unauthorized"
    status, _ = await srv.get("/admin/levels", headers={"Authorization": "Bearer a"})
    assert status == 200
    status, _ = await srv.get("/ready", headers={"Authorization": "Bearer a"})
    assert status == 401  # the admin token is not the service token
