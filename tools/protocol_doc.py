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
from quest_runtime.server.openapi import document

OUT = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"

INTRO = """# Bridge protocol reference (version {version})

Generated from the `bridge_protocol` package by `tools/protocol_doc.py`; do not edit.
The JSON Schemas of these models are written by `quest-runtime schema --out DIR`, and
the running service describes itself at `GET /openapi.json`.

All bodies are JSON (UTF-8). Requests ignore unknown top-level fields. Send
`Content-Type: application/json` (a missing Content-Type and Java's default
`application/x-www-form-urlencoded` are accepted too, since the body is parsed as JSON
either way; any other media type is refused with 415). Idempotency: an `event_id` field
or an `Idempotency-Key` header; a repeated key returns the stored result and changes
nothing.

{endpoints}

Errors: `ErrorResponse` with HTTP 400 `malformed_json`, 401 `unauthorized`, 404
`not_found`/`unknown_level`, 409 `level_blocked`, 413 `payload_too_large`, 415
`unsupported_media_type`, 422 `invalid_request` (details name each field as a dotted
`loc`, e.g. `payload.location.x`), 429 `rate_limited` (with `Retry-After`), 503
`unavailable` (shutting down, or the store failed: retry with the same `event_id`) or
`level_unavailable` (with `Retry-After`). 401 only when a token is configured (`token`;
`/admin/*`: `admin_token`, else `token`); `/health` never needs one. What aiohttp
refuses before routing (a bad request line, malformed headers, an unknown path or
method) has the same JSON body: `bad_request`, `not_found`, `method_not_allowed`.
The table is generated from the OpenAPI document, which is generated from the route
tables; `GET /openapi.json` on a service without a token lists no 401.
"""


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return f"`{prop['$ref'].rsplit('/', 1)[-1]}`"
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


def _endpoints() -> str:
    """The endpoint table, from the OpenAPI document (itself from the route tables), as
    with a token configured: every status an operation can answer."""
    lines = ["| endpoint | request | response | other statuses |", "|---|---|---|---|"]
    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            request = f"`{ref.rsplit('/', 1)[-1]}`" if ref else ("`{}` or empty" if body
                                                                 else "—")
            responses = op["responses"]
            ok = next(iter(responses))
            content = responses[ok].get("content", {})
            first: dict[str, Any] = next(iter(content.values()), {}) if content else {}
            schema = first.get("schema", {})
            frames = responses[ok].get("x-websocket-message", {}).get("$ref", "")
            name = (schema.get("$ref") or frames).rsplit("/", 1)[-1]
            response = f"{ok} `{name}`" if name else f"{ok} {next(iter(content), '')}".strip()
            if frames:
                response += " text frames (WebSocket)"
            others = ", ".join(s for s in responses if s != ok)
            params = [p for p in op.get("parameters", []) if p["in"] == "query"]
            query = "?" + "&".join(f"{p['name']}=" for p in params) if params else ""
            lines.append(f"| `{method.upper()} {path}{query}` | {request} | {response} | "
                         f"{others} |")
    return "\n".join(lines)


def render() -> str:
    intro = INTRO.format(version=PROTOCOL_VERSION, endpoints=_endpoints())
    lines = [intro, "## Models", ""]
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
