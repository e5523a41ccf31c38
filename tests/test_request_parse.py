"""``bridge_protocol.requests.parse`` answers what pydantic's JSON mode answers.

The service reads request bodies with orjson and validates the objects (about half the
cost); every body it accepts must give the same request, and every body it refuses the
same errors, as ``model_validate_json`` (which the routes used before). The one
difference, an integer beyond 64 bits in a payload, is tested on its own.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bridge_protocol.requests import BatchRequest, EndRequest, LoadRequest, RuleEventRequest, parse

MODELS: list[type[BaseModel]] = [RuleEventRequest, BatchRequest, LoadRequest, EndRequest]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
fields = st.sampled_from(["player_id", "event_type", "payload", "event_id", "level_id",
                          "events", "text", "target"])
event_like = st.dictionaries(fields, st.one_of(values, st.text(max_size=70)), max_size=5)
names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0,
                max_size=66)
valid_event = st.fixed_dictionaries(
    {"player_id": names},
    optional={"event_type": st.one_of(st.none(), st.text(max_size=10)),
              "payload": st.dictionaries(st.text(max_size=8), values, max_size=4),
              "event_id": st.one_of(st.none(), st.text(max_size=10)),
              "level_id": st.text(max_size=10), "extra": values})
events = st.one_of(valid_event, event_like)
documents = st.one_of(values, events,
                      st.builds(lambda es: {"events": es}, st.lists(events, max_size=3)))
# what orjson refuses and pydantic's parser may read: the slow path's inputs
oddities = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"]


def outcome(model: type[BaseModel], call: Any) -> Any:
    try:
        return call().model_dump()
    except ValidationError as exc:
        return [(e["type"], e["loc"], e["msg"]) for e in exc.errors(include_url=False)]


def agree(model: type[BaseModel], body: bytes) -> bool:
    """Assert the two agree; True when the body was accepted."""
    expected = outcome(model, lambda: model.model_validate_json(body))
    assert outcome(model, lambda: parse(model, body)) == expected, body
    return isinstance(expected, dict)


def test_the_documents_hold_accepted_and_refused_bodies() -> None:
    """The strategies reach both paths (else the agreement tests prove little)."""
    seen = set()

    @settings(max_examples=300, deadline=None)
    @given(documents, st.sampled_from(MODELS))
    def run(doc: Any, model: type[BaseModel]) -> None:
        seen.add(agree(model, orjson.dumps(doc)))

    run()
    assert seen == {True, False}


@settings(max_examples=400, deadline=None)
@given(documents, st.sampled_from(MODELS))
def test_documents_parse_as_pydantic_reads_them(doc: Any, model: type[BaseModel]) -> None:
    agree(model, orjson.dumps(doc))


@settings(max_examples=200, deadline=None)
@given(valid_event, st.sampled_from(oddities), st.binary(max_size=3), st.integers(0, 200))
def test_bodies_orjson_refuses_parse_as_pydantic_reads_them(
        doc: dict[str, Any], odd: bytes, junk: bytes, at: int) -> None:
    body = orjson.dumps({**doc, "payload": {"target": "t", "location": {"x": 0}}})
    with_odd = body.replace(b'"x":0', b'"x":' + odd)
    cut = body[:at] + junk + body[at:]
    for model in (RuleEventRequest, BatchRequest):
        agree(model, with_odd)
        agree(model, b'{"events":[' + with_odd + b"]}")
        agree(model, cut)
        agree(model, b"\xef\xbb\xbf" + body)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_a_non_finite_number_is_named_by_its_path(number: bytes) -> None:
    body = b'{"player_id":"a","payload":{"location":{"x":' + number + b'}}}'
    for model, raw, loc in ((RuleEventRequest, body, ("payload",)),
                            (BatchRequest, b'{"events":[' + body + b"]}",
                             ("events", 0, "payload"))):
        with pytest.raises(ValidationError) as caught:
            parse(model, raw)
        (error,) = caught.value.errors(include_url=False)
        assert error["loc"] == loc
        assert "payload.location.x is not a finite number" in error["msg"]


def test_errors_keep_json_words() -> None:
    """Python-mode validation says "a valid dictionary"; the body's errors say "an
    object", as pydantic's JSON mode does."""
    for body in (b"[]", b'{"player_id":"a","payload":[]}'):
        with pytest.raises(ValidationError) as caught:
            parse(RuleEventRequest, body)
        assert caught.value.errors(include_url=False)[0]["msg"] == "Input should be an object"


def test_an_integer_beyond_64_bits_in_a_payload_is_read_as_a_double() -> None:
    req = parse(RuleEventRequest, b'{"player_id":"a","payload":{"n":' + b"1" * 30 + b"}}")
    assert req.payload == {"n": float("1" * 30)}
    assert orjson.loads(orjson.dumps(req.payload)) == req.payload
