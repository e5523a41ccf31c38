"""The service reads a level file the way ``validate`` does (issue 11, Deliver 2).

One loader reads, decodes and scans a file for both, so a save that is not UTF-8 is
reported in ``/admin/levels`` at its line, column and byte, not at 1:1, and the last
good version keeps serving.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from http_helpers import Serve, counter_level, write_level

from quest_runtime.levels.loader import load_level


async def test_a_file_that_is_not_utf8_is_reported_where_the_bad_byte_is(
        serve: Serve, tmp_path: Path) -> None:
    folder = tmp_path / "levels"
    write_level(folder, counter_level())
    srv = await serve(levels=folder, watch=False)
    path = folder / "counter.json"
    # Latin-1 "café" on line 3: the é is byte 0xe9, the 13th character of its line
    path.write_bytes(b'{\n  "id": "counter",\n  "title": "caf\xe9",\n  "tasks": []\n}\n')

    status, body = await srv.post("/admin/reload", b"")
    assert status == 200
    report = orjson.loads(body)
    [finding] = [f for f in report["findings"] if f["file"].endswith("counter.json")]
    assert (finding["line"], finding["column"]) == (3, 16)
    assert finding["code"] == "not_utf8"
    assert "byte 0xe9" in finding["message"]

    async with srv.session.get(srv.url("/admin/levels")) as r:
        [entry] = orjson.loads(await r.read())["levels"]
    assert entry["serving"] and not entry["ok"]  # the last good version still serves
    assert [(f["line"], f["column"]) for f in entry["findings"]] == [(3, 16)]

    # validate loads the file through the same function and says the same
    validated = load_level(path, entry["file"])
    assert [f.to_dict() for f in validated.findings] == entry["findings"]
