"""The engine's TypedDicts (``engine/shapes.py``) and the wire models of
``bridge_protocol/results.py`` describe the same objects: keep them from drifting."""

# No postponed annotations: NotRequired must be seen in ``__required_keys__``.
from typing import Any, NotRequired, TypedDict

import pytest
from pydantic import BaseModel

from bridge_protocol import results as wire
from quest_runtime.engine import shapes

#: (TypedDict, model, the model allows extra keys)
PAIRS: list[tuple[Any, type[BaseModel], bool]] = [
    (shapes.Result, wire.RuleEventResult, False),
    (shapes.Node, wire.Node, True),
    (shapes.Summary, wire.Summary, False),
    (shapes.QuestLog, wire.QuestLog, False),
    (shapes.QuestLogTask, wire.QuestLogTask, False),
    (shapes.QuestLogMilestone, wire.QuestLogMilestone, False),
    (shapes.QuestLogUpcoming, wire.QuestLogUpcoming, False),
    (shapes.QuestLogCooldown, wire.QuestLogCooldown, False),
]


def drift(shape: Any, model: type[BaseModel], open_model: bool) -> list[str]:
    """What differs between a TypedDict and the model it mirrors. Keys: equal (for a
    model that allows extra keys, the TypedDict may list more). Required-ness: a key
    the model requires is always there in the TypedDict; a key the TypedDict may leave
    out has a default in the model (a key the engine always writes may still have a
    default on the wire, for other senders)."""
    keys = set(shape.__required_keys__) | set(shape.__optional_keys__)
    fields = set(model.model_fields)
    problems = [f"{model.__name__}.{k} is not in {shape.__name__}" for k in sorted(fields - keys)]
    if not open_model:
        problems += [f"{shape.__name__}.{k} is not a field of {model.__name__}"
                     for k in sorted(keys - fields)]
    for name in sorted(shape.__optional_keys__ & fields):
        if model.model_fields[name].is_required():
            problems.append(f"{shape.__name__}.{name} may be left out, "
                            f"{model.__name__} requires it")
    return problems


@pytest.mark.parametrize(("shape", "model", "open_model"), PAIRS,
                         ids=[m.__name__ for _, m, _ in PAIRS])
def test_typeddict_mirrors_the_wire_model(shape: Any, model: type[BaseModel],
                                          open_model: bool) -> None:
    assert drift(shape, model, open_model) == []


def test_every_wire_result_model_has_a_typeddict() -> None:
    mirrored = {m for _, m, _ in PAIRS}
    models = {v for v in vars(wire).values()
              if isinstance(v, type) and issubclass(v, BaseModel)
              and v.__module__ == wire.__name__ and not v.__name__.startswith("_")}
    # envelopes around a result, not shapes the engine builds
    envelopes: set[type[BaseModel]] = {wire.RuleEventResponse, wire.StreamMessage,
                                       wire.BatchResponse}
    assert models - envelopes - mirrored == set()


def test_drift_is_noticed() -> None:
    """The check itself: a missing key, an extra key and a required key left optional
    are each reported."""

    class Missing(TypedDict):
        task_id: str

    class Extra(TypedDict):
        task_id: str
        title: str
        colour: str

    class Loose(TypedDict):
        task_id: str
        title: NotRequired[str]

    assert drift(Missing, wire.QuestLogUpcoming, False) == [
        "QuestLogUpcoming.title is not in Missing"]
    assert drift(Extra, wire.QuestLogUpcoming, False) == [
        "Extra.colour is not a field of QuestLogUpcoming"]
    assert drift(Extra, wire.QuestLogUpcoming, True) == []
    assert drift(Loose, wire.QuestLogUpcoming, False) == [
        "Loose.title may be left out, QuestLogUpcoming requires it"]


def test_shapes_are_plain_dicts_at_run_time() -> None:
    """No runtime cost: a TypedDict builds a plain dict, nothing validated."""
    node = shapes.Node(type="task", title="t")
    assert type(node) is dict
    assert node == {"type": "task", "title": "t"}
