"""Generate docs/protocol.md from ``bridge_protocol`` (never edit that file by hand).

Usage: ``python tools/protocol_doc.py [--check]`` — writes the file, or with ``--check``
exits 1 when the committed file is out of date (CI and a test run the check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from bridge_protocol import PROTOCOL_VERSION
from bridge_protocol.schema import MODELS

OUT = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"

INTRO = f"""# Bridge protocol reference (version {PROTOCOL_VERSION})

Generated from the `bridge_protocol` package by `tools/protocol_doc.py`; do not edit.
The JSON Schemas of these models are written by `quest-runtime schema --out DIR`, and
the running service describes itself at `GET /openapi.json`.

All bodies are JSON (UTF-8). Requests ignore unknown top-level fields. Send
`Content-Type: application/json` (a missing Content-Type and Java's default
`application/x-www-form-urlencoded` are accepted too, since the body is parsed as JSON
either way; any other media type is refused with 415). Idempotency: an `event_id` field
or an `Idempotency-Key` header; a repeated key returns the stored result and changes
nothing.

| endpoint | request | response |
|---|---|---|
| `POST /world/story/rule-event` | `RuleEventRequest` | `RuleEventResponse` |
| `POST /world/story/rule-events` | `BatchRequest` | `BatchResponse` |
| `POST /world/story/load` | `LoadRequest` | `RuleEventResponse` (404 `unknown_level`, 409 `level_blocked`) |
| `POST /world/story/end` | `EndRequest` | `{{"status": "ok", "result": null}}` |
| `GET /world/story/{{player_id}}/state` | — | `{{"status": "ok", "state": {{...}}}}` (404 for an unknown player) |
| `GET /world/story/{{player_id}}/quest-log` | — | `{{"status": "ok", "active_tasks": QuestLog or null}}` |
| `GET /world/story/{{player_id}}/journal?limit=N` | — | `{{"status": "ok", "entries": [...]}}` |
| `GET /world/story/stream` (WebSocket, `?player_id=` optional, repeatable) | — | `StreamMessage` text frames: results of timers, one per firing; undelivered ones come merged into the player's next rule-event response |
| `POST /world/story/explain` | `RuleEventRequest` | `ExplainResponse` (a dry run: nothing changes) |
| `GET /admin/levels`, `POST /admin/reload` | — | levels, versions, findings |
| `GET /health`, `GET /ready`, `GET /metrics`, `GET /openapi.json` | — | — |

Errors: `ErrorResponse` with HTTP 400 `malformed_json`, 401 `unauthorized`, 404
`not_found`/`unknown_level`, 409 `level_blocked`, 413 `payload_too_large`, 415
`unsupported_media_type`, 422 `invalid_request` (details name each field as a dotted
`loc`, e.g. `payload.location.x`), 429 `rate_limited` (with `Retry-After`), 503
`unavailable` (shutting down, or the store failed: retry with the same `event_id`).
"""


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return "`" + prop["$ref"].rsplit("/", 1)[-1] + "`"
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    t = prop.get("type", "any")
    if t == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if "const" in prop:
        return f"`{orjson.dumps(prop['const']).decode()}`"
    return str(t)


def _model_section(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    required = set(schema.get("required", []))
    props = schema.get("properties", {})
    if props:
        lines += ["| field | type | required | description |", "|---|---|---|---|"]
        for field, prop in props.items():
            desc = " ".join(str(prop.get("description", "")).split())
            if "default" in prop and prop["default"] not in (None, [], {}):
                desc += f" Default `{orjson.dumps(prop['default']).decode()}`."
            lines.append(f"| `{field}` | {_type(prop)} | {'yes' if field in required else ''} "
                         f"| {desc.strip()} |")
        lines.append("")
    return lines


def render() -> str:
    lines = [INTRO, "## Models", ""]
    seen: dict[str, dict[str, Any]] = {}
    for stem, model in MODELS.items():
        schema = model.model_json_schema()
        seen.setdefault(model.__name__, schema)
        for dname, dschema in schema.get("$defs", {}).items():
            seen.setdefault(dname, dschema)
        del stem
    for name in sorted(seen):
        lines += _model_section(name, seen[name])
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python tools/protocol_doc.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
