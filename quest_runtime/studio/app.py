"""``quest-runtime studio``: the local web app (level map + simulator) on 127.0.0.1.

Routes (JSON unless said; bad input answers ``{"error": {"code", "message"}}`` with 400):

- ``GET /`` the page (``static/index.html``), ``GET /static/...`` its files;
- ``GET /api/levels`` every level file: id, title, findings counts, element counts;
- ``GET /api/map?file=F`` the map of one file (``levelmap.build_map``);
- ``GET /api/changes?since=G`` waits (up to 25 s) until the workspace generation passes
  ``G``: the page refetches the map then, keeping its selection and viewport;
- ``GET /api/palette?level=ID`` what the simulator offers to click for a level;
- ``POST /api/sim/act`` one simulator action (``simulator.Simulator.act``); ``GET
  /api/sim/player?player=P`` the player's state and open choice panel; ``GET
  /api/sim/log``; ``POST /api/sim/reset``;
- ``GET /api/sim/scenario`` the session as a scenario file (text); ``POST
  /api/sim/save {"name"}`` writes it next to the levels as ``NAME.scenario.jsonl``.

Nothing here needs Node.js: the page and its vendored libraries are package data.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from quest_runtime.errors import QuestError
from quest_runtime.studio.simulator import Simulator, SimulatorError, palette
from quest_runtime.studio.workspace import Workspace

STATIC = Path(__file__).parent / "static"
WORKSPACE = web.AppKey("studio_workspace", Workspace)
SIMULATOR = web.AppKey("studio_simulator", Simulator)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


class BadRequest(Exception):
    """A request the studio refuses; answered as a 400 JSON error."""


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status,
                        content_type="application/json")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (BadRequest, SimulatorError) as exc:
        return _json({"error": {"code": "bad_request", "message": str(exc)}}, 400)
    except QuestError as exc:
        return _json({"error": {"code": exc.code, "message": exc.message}}, exc.status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def levels(request: web.Request) -> web.Response:
    return _json(request.app[WORKSPACE].summary())


async def level_map(request: web.Request) -> web.Response:
    ws = request.app[WORKSPACE]
    file = request.query.get("file", "")
    found = ws.maps.get(file)
    if found is None:
        raise BadRequest(f"no level file {file!r}; GET /api/levels lists them")
    return _json({**found, "generation": ws.generation})


async def changes(request: web.Request) -> web.Response:
    ws = request.app[WORKSPACE]
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise BadRequest("'since' must be an integer") from None
    return _json({"generation": await ws.wait_change(since, 25.0)})


async def level_palette(request: web.Request) -> web.Response:
    level = request.query.get("level", "")
    return _json(palette(request.app[WORKSPACE].level_doc(level)))


async def sim_act(request: web.Request) -> web.Response:
    entry = await request.app[SIMULATOR].act(await _body(request))
    return _json(entry)


async def sim_player(request: web.Request) -> web.Response:
    player = request.query.get("player", "").strip()
    if not player:
        raise BadRequest("'player' is required")
    return _json(await request.app[SIMULATOR].player_view(player))


async def sim_log(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    return _json({"log": sim.log, "steps": len(sim.steps), "clock": sim.now})


async def sim_reset(request: web.Request) -> web.Response:
    await request.app[SIMULATOR].reset()
    return _json({"ok": True})


async def sim_scenario(request: web.Request) -> web.Response:
    return web.Response(text=request.app[SIMULATOR].scenario_text(),
                        content_type="text/plain")


async def sim_save(request: web.Request) -> web.Response:
    data = await _body(request)
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise BadRequest("'name' must be 1-80 letters, digits, '_', '-' or '.'")
    name = name.removesuffix(".scenario.jsonl")
    ws, sim = request.app[WORKSPACE], request.app[SIMULATOR]
    if not sim.steps:
        raise BadRequest("nothing played yet")
    target = ws.folder / f"{name}.scenario.jsonl"
    target.write_text(sim.scenario_text(name), encoding="utf-8")
    return _json({"saved": str(target), "steps": len(sim.steps)})


def create_studio_app(folder: Path, *, watch: bool = True) -> web.Application:
    """The studio application on the levels ``folder``."""
    app = web.Application(middlewares=[_errors])
    workspace = Workspace(folder)
    app[WORKSPACE] = workspace
    app[SIMULATOR] = Simulator(workspace.catalog)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        workspace.refresh()
        await app[SIMULATOR].open()
        if watch:
            workspace.start()
        yield
        await workspace.stop()
        await app[SIMULATOR].close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/", index)
    app.router.add_static("/static", STATIC)
    app.router.add_get("/api/levels", levels)
    app.router.add_get("/api/map", level_map)
    app.router.add_get("/api/changes", changes)
    app.router.add_get("/api/palette", level_palette)
    app.router.add_post("/api/sim/act", sim_act)
    app.router.add_get("/api/sim/player", sim_player)
    app.router.add_get("/api/sim/log", sim_log)
    app.router.add_post("/api/sim/reset", sim_reset)
    app.router.add_get("/api/sim/scenario", sim_scenario)
    app.router.add_post("/api/sim/save", sim_save)
    return app


def run_studio(folder: Path, port: int) -> int:
    """The ``studio`` command: serve on 127.0.0.1 and print the URL."""
    if not folder.is_dir():
        print(f"error: {folder}: no such folder")
        return 2

    async def main() -> None:
        runner = web.AppRunner(create_studio_app(folder), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        bound = port
        for sock in getattr(site._server, "sockets", None) or ():
            bound = sock.getsockname()[1]
        print(f"quest-runtime studio on http://127.0.0.1:{bound}/ (levels: {folder})",
              flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0
