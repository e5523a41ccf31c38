"""The OpenAPI document is the API (issue 9, Deliver 2).

- The document's paths are generated from the route tables the application is built
  from: every route the running app serves is documented, nothing else is.
- Bounds, parameters and the bearer security scheme are in it, and which operations need
  the token follows the settings.
- schemathesis, with every check it has (status codes, response schemas, headers,
  content types, positive and negative data, auth, unsupported methods, stateful links),
  runs against the live service (``quest-runtime serve`` in a subprocess, a real SQLite
  file) with zero failures, once without a token and once with one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from http_helpers import Serve, Spawn

from bridge_protocol.openapi import described
from quest_runtime.server.openapi import document, operations, tables
from quest_runtime.settings import Settings

EXAMPLES = int(os.environ.get("QUEST_SCHEMATHESIS_EXAMPLES", "20"))
#: Fixed so CI is reproducible; set the variable to explore other inputs.
SEED = os.environ.get("QUEST_SCHEMATHESIS_SEED", "20261202")
TOKEN = "fuzz-token-1"


def _app_routes(settings: Settings) -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every documented route the application really serves."""
    from quest_runtime.server.app import create_app

    app = create_app(settings)
    out: set[tuple[str, str]] = set()

    def walk(router: web.UrlDispatcher) -> None:
        for resource in router.resources():
            sub = getattr(resource, "_app", None)
            if sub is not None:  # the /admin sub-application (its paths carry the prefix)
                walk(sub.router)
                continue
            for route in resource:
                # aiohttp adds a HEAD route beside each GET; the document lists the GET
                if route.method != "HEAD" and described(route.handler) is not None:
                    out.add((route.method, resource.canonical))

    walk(app.router)
    return out


def test_the_document_lists_exactly_the_routes_the_app_serves(tmp_path: Path) -> None:
    served = _app_routes(Settings(levels=tmp_path, db=tmp_path / "s.db"))
    doc = document(Settings(levels=tmp_path, db=tmp_path / "s.db"))
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == served
    assert ("GET", "/admin/levels") in served and ("GET", "/world/story/stream") in served
    assert len(served) == 20


def test_every_route_of_the_tables_is_documented_but_the_foreign_calls() -> None:
    undocumented = {route.path for _, table in tables() for route in table
                    if isinstance(route, web.RouteDef) and described(route.handler) is None}
    assert undocumented == {"/story/inject", "/story/state/{tail:.*}", "/ai/{tail:.*}",
                            "/world/apply", "/world/apply/{tail:.*}", "/tutorial/{tail:.*}",
                            "/minimap/{tail:.*}"}
    ids = [op.operation_id for _, _, op in operations()]
    assert len(ids) == len(set(ids)) and all(ids)


def test_bounds_parameters_and_statuses_are_declared(tmp_path: Path) -> None:
    doc = document(Settings(levels=tmp_path, db=tmp_path / "s.db"))
    paths = doc["paths"]
    state = paths["/world/story/{player_id}/state"]["get"]
    assert set(state["responses"]) == {"200", "404", "422", "503"}
    (player,) = state["parameters"]
    assert player["schema"]["maxLength"] == 64 and player["schema"]["minLength"] == 1
    assert "pattern" in player["schema"]
    journal = paths["/world/story/{player_id}/journal"]["get"]
    (limit,) = [p for p in journal["parameters"] if p["name"] == "limit"]
    assert limit["in"] == "query"
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)
    event = paths["/world/story/rule-event"]["post"]
    assert set(event["responses"]) == {"200", "400", "413", "415", "422", "429", "503"}
    for status in ("429", "503"):
        assert event["responses"][status]["headers"]["Retry-After"]["required"] is True
    assert "links" in event["responses"]["200"]
    stream = paths["/world/story/stream"]["get"]
    assert {"101", "400", "422"} <= set(stream["responses"])
    handshake = {p["name"] for p in stream["parameters"] if p["in"] == "header"}
    assert handshake == {"Upgrade", "Connection", "Sec-WebSocket-Version", "Sec-WebSocket-Key"}
    assert stream["responses"]["101"]["x-websocket-message"]["$ref"].endswith("StreamMessage")
    body = doc["components"]["schemas"]["RuleEventRequest"]["properties"]["player_id"]
    assert body["maxLength"] == 64


def test_security_follows_the_token_settings(tmp_path: Path) -> None:
    base: dict[str, Any] = {"levels": tmp_path, "db": tmp_path / "s.db"}
    open_doc = document(Settings(**base))
    closed = document(Settings(**base, token="t"))
    admin_only = document(Settings(**base, admin_token="a"))
    assert {"bearer", "admin_bearer"} <= set(closed["components"]["securitySchemes"])
    for path, ops in open_doc["paths"].items():
        for op in ops.values():
            assert op["security"] == [] and "401" not in op["responses"], path
    for path, ops in closed["paths"].items():
        for op in ops.values():
            if path == "/health":
                assert op["security"] == [] and "401" not in op["responses"]
            else:
                scheme = "admin_bearer" if path.startswith("/admin/") else "bearer"
                assert op["security"] == [{scheme: []}] and "401" in op["responses"], path
    for path, ops in admin_only["paths"].items():
        for op in ops.values():
            assert ("401" in op["responses"]) == path.startswith("/admin/"), path


async def test_the_served_document_matches_the_settings(serve: Serve) -> None:
    srv = await serve(token="t")
    status, body = await srv.get("/openapi.json", headers={"Authorization": "Bearer t"})
    assert status == 200
    doc = orjson.loads(body)
    assert doc["paths"]["/ready"]["get"]["security"] == [{"bearer": []}]
    assert doc == orjson.loads(orjson.dumps(document(srv.settings)))


async def _schemathesis(base: str, headers: list[str], log: Path) -> tuple[int, str]:
    cli = Path(sys.executable).with_name("schemathesis")
    args = [str(cli), "run", f"{base}/openapi.json", "--checks", "all",
            "--max-examples", str(EXAMPLES), "--seed", SEED,
            # one worker: threads hit a CPython 3.11 ast bug in hypothesis (SystemError:
            # "AST constructor recursion depth mismatch"), reported as a runtime error
            "--workers", "1",
            "--request-timeout", "10", "--no-color",
            # The WebSocket: schemathesis counts its 101 as "valid data rejected"
            # (docs/decisions.md); the stream tests cover it.
            "--exclude-path", "/world/story/stream"]
    for header in headers:
        args += ["-H", header]
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd=log.parent)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    text = out.decode(errors="replace")
    log.write_text(text)
    assert proc.returncode is not None
    return proc.returncode, text


@pytest.mark.timeout(180)
@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "token"])
async def test_schemathesis_finds_nothing_against_the_live_service(
        spawn: Spawn, tmp_path: Path, token: str | None) -> None:
    proc = spawn(args=["--token", token] if token else [])
    await proc.restart()
    headers = [f"Authorization: Bearer {token}"] if token else []
    code, text = await _schemathesis(proc.base, headers, tmp_path / "schemathesis.txt")
    assert code == 0, text[-6000:]
    assert "Tested: 18" in text
    assert "failure" not in text.split("SUMMARY", 1)[-1].replace("0 failures", ""), text[-3000:]
    assert proc.popen is not None and proc.popen.poll() is None  # still serving
