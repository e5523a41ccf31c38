"""Property-based fuzzing of every endpoint over a real socket (SPEC §2.1: "never a 500 for
anything a client can send").

Arbitrary JSON and garbage bodies, huge numbers, deep nesting, unicode, odd
Content-Types and encodings, wrong types, missing and extra fields, arbitrary
(percent-encoded) player ids in paths and arbitrary methods go to every endpoint of one
in-process server with a SQLite file. For every request:

- the status is below 500;
- an error (4xx) body is the JSON error shape (``bridge_protocol.ErrorResponse``), and a
  200 rule-event or batch body is the protocol response shape;
- a rejected (non-200) request changes nothing: the seeded player's state
  (``GET state``), the SQLite ``players`` table and the journal are as before.

Not covered: requests that are not well-formed HTTP (those are answered by aiohttp's
HTTP parser before the application sees them), and ``Content-Encoding: br``/``zstd``,
which aiohttp's parser refuses the same way when the decoder library is not installed.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from http_helpers import Running, Serve, validate_error
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from yarl import URL

from bridge_protocol import BatchResponse, RuleEventResponse

SEED = "Seed"
EVENT = "/world/story/rule-event"
BATCH = "/world/story/rule-events"
LOAD = "/world/story/load"
END = "/world/story/end"
POSTS = [EVENT, BATCH, LOAD, END, "/admin/reload"]
GETS = ["/admin/levels", "/health", "/ready", "/metrics", "/openapi.json"]
PLAYER_GETS = ["state", "quest-log", "journal"]

COMPRESS = "X-Fuzz-Compress"
"""A marker in the drawn headers: compress the body as its Content-Encoding says."""

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


# -- the server under test ---------------------------------------------------------------


class Target:
    """The server under test, its database, and the last snapshot of the stored state."""

    def __init__(self, srv: Running, db: sqlite3.Connection) -> None:
        self.srv = srv
        self.db = db
        self.before: tuple[bytes, list[Any], int] = (b"", [], 0)
        self.requests = 0

    def __repr__(self) -> str:
        return f"Target({self.srv.base})"

    async def snapshot(self) -> tuple[bytes, list[Any], int]:
        async with self.srv.session.get(self.srv.url(f"/world/story/{SEED}/state")) as r:
            assert r.status == 200
            state = await r.read()
        players = self.db.execute("SELECT player_id, version, document FROM players "
                                  "ORDER BY player_id").fetchall()
        (journal,) = self.db.execute("SELECT COUNT(*) FROM journal").fetchone()
        return state, players, journal

    async def send(self, method: str, path: str, body: bytes | None,
                   headers: dict[str, str], encoded: bool = False) -> None:
        """Send one request and check the response and the store (see the module doc)."""
        headers = dict(headers)
        garbled = False  # a body that does not decode with its Content-Encoding
        coding = headers.get("Content-Encoding")
        if coding is not None and body:
            if headers.pop(COMPRESS, None) and coding in ("gzip", "deflate"):
                body = gzip.compress(body) if coding == "gzip" else zlib.compress(body)
            else:
                garbled = coding.lower() in ("gzip", "deflate", "gzip, deflate")
        headers.pop(COMPRESS, None)
        url = URL(self.srv.base + path, encoded=True) if encoded else self.srv.url(path)
        skip = [] if "Content-Type" in headers else ["Content-Type"]
        async with self.srv.session.request(method, url, data=body, headers=headers,
                                            skip_auto_headers=skip) as r:
            status = r.status
            ctype = r.content_type
            payload = await r.read()
        self.requests += 1
        event(f"{method} -> {status}")
        where = f"{method} {path} {headers} {body[:200] if body else body!r}"
        assert status < 500, f"{status} for {where}: {payload[:500]!r}"
        if garbled and status == 400 and ctype == "text/plain":
            pass  # aiohttp's HTTP layer refused the body before the application saw it
        elif method != "HEAD":
            if status >= 400:
                assert ctype == "application/json", where
                validate_error(payload)
            elif status == 200 and path == EVENT:
                RuleEventResponse.model_validate_json(payload)
            elif status == 200 and path == BATCH:
                BatchResponse.model_validate_json(payload)
            elif status == 200 and path.startswith("/openapi.json"):
                assert "openapi" in orjson.loads(payload)  # the API document, not an envelope
            elif status == 200 and ctype == "application/json":
                assert orjson.loads(payload)["status"] == "ok"
        after = await self.snapshot()
        if status != 200:
            assert after == self.before, f"a rejected request ({status}) changed the state: " \
                                         f"{where}"
        self.before = after


@pytest.fixture
async def target(serve: Serve) -> AsyncIterator[Target]:
    srv = await serve()
    await srv.load(SEED, "lakeside")
    await srv.event({"player_id": SEED, "event_type": "near",
                     "payload": {"target": "mia_npc", "quest_event": "near_mia_npc",
                                 "location": {"world": "world", "x": 12.4, "y": 64.0,
                                              "z": -28.7}}})
    db = sqlite3.connect(srv.settings.db, isolation_level=None)
    t = Target(srv, db)
    t.before = await t.snapshot()
    try:
        yield t
    finally:
        db.close()


# -- strategies ----------------------------------------------------------------------------

ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
# printable latin-1: what an HTTP client can put in a header value (no control characters)
header_chars = st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                         st.characters(min_codepoint=0xA0, max_codepoint=0xFF))
header_text = st.text(header_chars, max_size=60)
huge_ints = st.integers(min_value=-(10**40), max_value=10**40)
numbers = st.one_of(st.integers(), huge_ints,
                    st.floats(allow_nan=False, allow_infinity=False), st.just(2**63),
                    st.just(-(2**63) - 1), st.just(10**300))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=30))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=15,
)
player_ids = st.one_of(st.sampled_from([SEED, "Steve", "Alex", "x" * 64, "x" * 65, "",
                                        " ", "Mia NPC", "§eTomas", "../etc", "a/b"]),
                       st.text(max_size=70))
event_types = st.one_of(st.sampled_from(["near", "chat", "interact_block", "interact_entity",
                                         "quest_event", "choice", " NEAR ", "",
                                         "approach_grandma"]),
                        st.text(max_size=140))
location = st.fixed_dictionaries({}, optional={"world": json_values, "x": json_values,
                                               "y": json_values, "z": json_values})
payloads = st.fixed_dictionaries({}, optional={
    "target": st.one_of(st.sampled_from(["mia_npc", "Tomas", "lantern", "chest"]),
                        json_values),
    "quest_event": st.one_of(st.sampled_from(["near_mia_npc", "enter_dock",
                                              "enter_boathouse"]), json_values),
    "text": st.one_of(st.sampled_from(["I am ready", "lantern", "ready ready"]),
                      json_values),
    "location": st.one_of(location, json_values),
    "block_type": json_values, "entity_name": json_values, "entity_type": json_values,
    "npc": json_values, "choice_id": json_values, "level_id": json_values,
    "tags": json_values, "source": json_values, "radius": json_values,
})
valid_players = st.one_of(st.sampled_from([SEED, "Steve", "Alex", "x" * 64, "Mia NPC",
                                          "§eTomas", "../etc", "a/b", " "]),
                          st.text(min_size=1, max_size=64))
wire_events = st.fixed_dictionaries(  # the wire shape, with anything inside the payload
    {"player_id": valid_players, "event_type": event_types},
    optional={"payload": payloads, "event_id": st.text(min_size=1, max_size=128),
              "extra": json_values})
wild_events = st.fixed_dictionaries({}, optional={
    "player_id": st.one_of(player_ids, json_values),
    "event_type": st.one_of(event_types, json_values),
    "payload": st.one_of(payloads, json_values),
    "event_id": st.one_of(st.text(max_size=140), json_values),
    "extra": json_values,
    "player": json_values,
})
events = st.one_of(wire_events, wire_events, wild_events)


def dumps(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def deep(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    if kind == "dict":
        return b'{"a":' * depth + b"1" + b"}" * depth
    # a valid event whose payload is deeply nested
    return (b'{"player_id": "Deep", "event_type": "near", "payload": {"target": '
            + b"[" * depth + b"]" * depth + b"}}")


def mangle(raw: bytes, at: int, junk: bytes) -> bytes:
    at = at % (len(raw) + 1)
    return raw[:at] + junk + raw[at + len(junk):]


def bodies(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes | None]:
    """Bodies built around ``documents``: valid JSON, mangled JSON, garbage, nesting."""
    as_json = st.builds(dumps, documents, st.booleans())
    return st.one_of(as_json, st.one_of(  # half valid JSON documents, half anything else
        st.builds(mangle, as_json, st.integers(0, 400), st.binary(min_size=1, max_size=6)),
        st.builds(lambda raw, n: raw[:n], as_json, st.integers(0, 200)),
        st.binary(max_size=300),
        st.builds(dumps, json_values, st.booleans()),
        st.builds(deep, st.integers(1, 5000), st.sampled_from(["list", "dict", "payload"])),
        st.sampled_from([b"", b"null", b"NaN", b'{"player_id": NaN}', b"\xef\xbb\xbf{}",
                         b'{"player_id": "a", "payload": {"x": 1e999999}}',
                         b'{"player_id": "a", "payload": {"x": -1e999999}}',
                         b'{"player_id": "\\ud800", "event_type": "near"}',
                         b'{"player_id": "a", "event_type": "near", "payload": '
                         b'{"target": "\\udfff"}}',
                         b'{"player_id": "a", "player_id": 5}', b"\x00" * 10]),
        st.builds(lambda n: b'{"player_id": "Big", "payload": {"t": "' + b"x" * n + b'"}}',
                  st.integers(60_000, 70_000)),
        st.none(),
    ))


content_types = st.one_of(
    st.sampled_from([None, "application/json", "application/json; charset=utf-8",
                     "APPLICATION/JSON", "application/problem+json"]),
    st.sampled_from([None, "application/json"]),
    st.sampled_from([None, "application/json"]),
    st.sampled_from(["text/plain",
                     "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                     "application/octet-stream", "", ";", "*/*", "application/",
                     "application/json; charset=latin-1", "text/json"]),
    ascii_text,
)


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    out: dict[str, str] = {}
    ctype = draw(content_types)
    if ctype is not None:
        out["Content-Type"] = ctype
    for name, values in (
        ("Idempotency-Key", st.one_of(st.just(""), ascii_text,
                                      st.text(header_chars, max_size=300))),
        ("Authorization", st.one_of(st.just("Bearer "), ascii_text)),
        ("Content-Encoding", st.sampled_from(["gzip", "deflate", "identity", "x-nope",
                                              "gzip, deflate"])),
        ("Accept", st.sampled_from(["*/*", "text/html", "application/json", ""])),
        ("X-Anything", header_text),
    ):
        if draw(st.integers(0, 3)) == 0:
            out[name] = draw(values)
    if draw(st.integers(0, 3)):  # mostly a body that matches its Content-Encoding
        out[COMPRESS] = "1"
    return out


path_players = st.one_of(
    st.text(min_size=1, max_size=80).map(lambda s: quote(s.encode("utf-8", "surrogatepass"),
                                                         safe="")),
    st.text(st.sampled_from("%0123456789abcdefABCDEFxyz._-~:@!$&'()*+,;="), min_size=1,
            max_size=70),
    st.sampled_from([SEED, "%FF%FE", "%", "%2", "%2F", "a%2Fb", "%00", "..", ".",
                     "%2e%2e", "x" * 65, "%C3%A9", "%ED%A0%80"]),
)
queries = st.one_of(
    st.just(""),
    st.builds(lambda v: "?limit=" + quote(v, safe=""), st.text(max_size=12)),
    st.sampled_from(["?limit=1", "?limit=1000", "?limit=0", "?limit=-5", "?limit=1e3",
                     "?limit=99999999999999999999999", "?limit=%FF", "?limit=",
                     "?limit=5&limit=6", "?a=b&c", "?%zz"]),
)


# -- the properties --------------------------------------------------------------------------


@FUZZ
@given(body=bodies(events), hdrs=headers())
async def test_fuzz_rule_event(target: Target, body: bytes | None, hdrs: dict[str, str]) -> None:
    await target.send("POST", EVENT, body, hdrs)


@FUZZ
@given(event_=st.one_of(wire_events, wire_events.map(lambda e: {**e, "player_id": SEED})),
       idem=st.one_of(st.none(), st.sampled_from(["k1", "k2", "k3"])),
       ascii_only=st.booleans())
async def test_fuzz_payloads_reach_the_engine(target: Target, event_: dict[str, Any],
                                              idem: str | None, ascii_only: bool) -> None:
    """Well-formed requests with anything in the payload, many of them for the seeded
    player's live level session, so the engine itself sees the odd values."""
    hdrs = {"Content-Type": "application/json"}
    if idem is not None:
        hdrs["Idempotency-Key"] = idem
    await target.send("POST", EVENT, dumps(event_, ascii_only), hdrs)


@FUZZ
@given(body=bodies(st.one_of(st.fixed_dictionaries({"events": st.lists(wire_events, max_size=8)}),
                             st.fixed_dictionaries({"events": st.lists(events, max_size=8)}),
                             st.fixed_dictionaries({}, optional={"events": json_values,
                                                                 "extra": json_values}))),
       hdrs=headers())
async def test_fuzz_batch(target: Target, body: bytes | None, hdrs: dict[str, str]) -> None:
    await target.send("POST", BATCH, body, hdrs)


sessions = st.fixed_dictionaries({}, optional={
    "player_id": st.one_of(player_ids, json_values),
    "level_id": st.one_of(st.sampled_from(["lakeside", "atlantis", "", "LAKESIDE",
                                           "lakeside.json", "../lakeside"]),
                          st.text(max_size=140), json_values),
    "extra": json_values,
})


@FUZZ
@given(path=st.sampled_from([LOAD, END, "/admin/reload"]), body=bodies(sessions),
       hdrs=headers())
async def test_fuzz_load_end_reload(target: Target, path: str, body: bytes | None,
                                    hdrs: dict[str, str]) -> None:
    await target.send("POST", path, body, hdrs)


@FUZZ
@given(player=path_players, what=st.sampled_from(PLAYER_GETS), query=queries, hdrs=headers(),
       method=st.sampled_from(["GET", "GET", "GET", "HEAD"]))
async def test_fuzz_player_reads(target: Target, player: str, what: str, query: str,
                                 hdrs: dict[str, str], method: str) -> None:
    await target.send(method, f"/world/story/{player}/{what}{query}", None, hdrs, encoded=True)


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
       path=st.one_of(st.sampled_from(POSTS + GETS),
                      st.builds(lambda p, w: f"/world/story/{p}/{w}", path_players,
                                st.sampled_from([*PLAYER_GETS, "nothing", ""])),
                      st.builds(lambda s: "/" + quote(s, safe="/"), st.text(max_size=40))),
       query=queries, body=bodies(events), hdrs=headers())
async def test_fuzz_any_method_any_endpoint(target: Target, method: str, path: str, query: str,
                                            body: bytes | None, hdrs: dict[str, str]) -> None:
    if method in ("GET", "HEAD"):
        body = None
    await target.send(method, path + query, body, hdrs, encoded=True)


@pytest.fixture
async def guarded(serve: Serve) -> AsyncIterator[Target]:
    srv = await serve(token="tok3n", admin_token="adm1n")
    auth = {"Authorization": "Bearer tok3n"}
    await srv.load(SEED, "lakeside", headers=auth)
    db = sqlite3.connect(srv.settings.db, isolation_level=None)
    srv.session.headers.update(auth)  # the snapshot reads go through
    t = Target(srv, db)
    t.before = await t.snapshot()
    srv.session.headers.clear()
    try:
        yield t
    finally:
        db.close()


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(POSTS + GETS + [f"/world/story/{SEED}/state"]),
       auth=st.one_of(st.none(), st.sampled_from(["Bearer tok3n", "Bearer adm1n", "tok3n",
                                                   "Bearer  tok3n", "bearer tok3n",
                                                   "Bearer tok3n ", "Bearer tok3nn"]),
                      header_text),
       body=bodies(events))
async def test_fuzz_auth(guarded: Target, path: str, auth: str | None,
                         body: bytes | None) -> None:
    hdrs = {"Content-Type": "application/json"}
    if auth is not None:
        hdrs["Authorization"] = auth
    method = "GET" if path in GETS or path.endswith("/state") else "POST"
    srv = guarded.srv
    async with srv.session.request(method, srv.url(path),
                                   data=None if method == "GET" else body,
                                   headers=hdrs) as r:
        status, payload = r.status, await r.read()
    assert status < 500, (path, auth, payload[:300])
    needed = "adm1n" if path.startswith("/admin/") else "tok3n"
    # the auth scheme is case-insensitive (RFC 7235); the token is compared exactly
    scheme, _, value = (auth or "").strip().partition(" ")
    given_token = value.strip() if scheme.lower() == "bearer" else None
    if path == "/health":
        assert status == 200
    elif given_token != needed:
        assert status == 401, (path, auth, status)
    else:
        assert status != 401, (path, auth, status)
    if status >= 400:
        validate_error(payload)
    srv.session.headers["Authorization"] = "Bearer tok3n"
    try:
        after = await guarded.snapshot()
    finally:
        srv.session.headers.clear()
    if status != 200:
        assert after == guarded.before
    guarded.before = after
