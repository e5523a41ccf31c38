"""The shape of a dialogue program (SPEC §3.4): one declaration for the keys the
dialogue compiler takes (``dialogues.py``) and for the level JSON Schema.

``dialogues.py`` checks programs by hand (every finding at once, with the graph checks
no schema can express); the key lists it checks against are read from these models, and
the schema is generated from them, so an editor offers exactly the keys the engine reads.
Conditions and effects refer to the level schema's ``Condition``/``Effect`` unions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from quest_runtime.atoms import BUILTIN_EVENT_TYPES

#: ``{"x-ref": NAME}`` marks a reference to the level schema's ``$defs/NAME``; ``schema.py``
#: turns it into a ``$ref`` (pydantic cannot refer to definitions it does not own).
_CONDITION = WithJsonSchema({"x-ref": "Condition"})
_EFFECTS = WithJsonSchema({"x-ref": "Effects"})


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


#: A non-blank string that is not one of the built-in event types (any case, any
#: surrounding white space): what the compiler takes as an option's ``rule_event``.
RULE_EVENT_PATTERN = r"\S"
RULE_EVENT_NOT = r"^\s*(" + "|".join(_any_case(t) for t in sorted(BUILTIN_EVENT_TYPES)) + r")\s*$"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DialogueOptionModel(_Closed):
    """An answer of a choice node."""

    model_config = ConfigDict(extra="forbid", title="Dialogue option")

    id: str = Field(None, min_length=1, title="Option id",  # type: ignore[assignment]
                    examples=["yes"],
                    description="Unique within the choice; names the answer. Default "
                    "`option_NN` (1-based).")
    text: str = Field(title="Label", examples=["I'll help you."],
                      description="What the player picks.")
    requires: Annotated[dict[str, Any], _CONDITION] | None = Field(
        None, title="Requires",
        examples=[{"type": "flag_set", "flag": "has_lantern"}],
        description="The option is shown only while this condition holds (its gate).")
    effects: Annotated[Any, _EFFECTS] = Field(
        None, title="Effects", examples=[[{"type": "set_flag", "flag": "agreed"}]],
        description="Run when the player picks it.")
    next: str = Field(title="Next node", examples=["thanks"],
                      description="The node that follows (an id of this program's nodes).")
    rule_event: str = Field(None, title="Rule event",  # type: ignore[assignment]
                            examples=["accept_quest"],
                            json_schema_extra={"pattern": RULE_EVENT_PATTERN,
                                               "not": {"pattern": RULE_EVENT_NOT}},
                            description="The event type that answers it (default "
                            "`choice__<dialogue>__<option>`); not a built-in event type.")


class LineNodeModel(_Closed):
    """One thing said; a run of lines becomes one npc_dialogue node with a script."""

    model_config = ConfigDict(extra="forbid", title="Line node")

    type: Literal["line"] = Field(title="Node type", examples=["line"],
                                  description="line: something said, then `next`.")
    speaker: str | None = Field(None, title="Speaker", examples=["Mia"],
                                description="Who says it (default: the program's npc).")
    text: str | Annotated[list[str], Field(min_length=1)] = Field(
        title="Text", examples=["You came!"],
        description="What is said: a string, or a list of lines of the same speaker.")
    effects: Annotated[Any, _EFFECTS] = Field(
        None, title="Effects", examples=[[{"type": "set_flag", "flag": "met_mia"}]],
        description="Run when the line is said.")
    next: str = Field(title="Next node", examples=["ask"],
                      description="The node that follows (an id of this program's nodes).")


class ChoiceNodeModel(_Closed):
    """A question: the program waits for an answer."""

    model_config = ConfigDict(extra="forbid", title="Choice node")

    type: Literal["choice"] = Field(title="Node type", examples=["choice"],
                                    description="choice: the player picks an option.")
    text: str | None = Field(None, title="Prompt", examples=["Will you help me?"],
                             description="The question shown above the options.")
    options: list[DialogueOptionModel] = Field(
        min_length=1, title="Options",
        examples=[[{"id": "yes", "text": "Of course.", "next": "thanks"}]],
        description="The answers, in order.")


class EndNodeModel(_Closed):
    """The program is over; a program it interrupted resumes."""

    model_config = ConfigDict(extra="forbid", title="End node")

    type: Literal["end"] = Field(title="Node type", examples=["end"],
                                 description="end: the program is over.")
    effects: Annotated[Any, _EFFECTS] = Field(
        None, title="Effects", examples=[[{"type": "issue_task", "task": "find_lantern"}]],
        description="Run when the program ends.")


DialogueNodeModel = LineNodeModel | ChoiceNodeModel | EndNodeModel


class DialogueProgramModel(_Closed):
    """A dialogue program: nodes by id, starting at `entry`."""

    model_config = ConfigDict(extra="forbid", title="Dialogue program")

    npc: str | None = Field(None, title="NPC", examples=["Mia"],
                            description="The default speaker of its lines.")
    title: str | None = Field(None, title="Title", examples=["Mia's request"],
                              description="A name for designers and tools.")
    entry: str | None = Field(None, title="Entry node", examples=["hello"],
                              description="The first node (default: the first in `nodes`).")
    nodes: dict[str, DialogueNodeModel] = Field(
        title="Nodes", json_schema_extra={"minProperties": 1},
        examples=[{"hello": {"type": "line", "text": "You came!", "next": "end"},
                   "end": {"type": "end"}}],
        description="The program's nodes by id: line, choice and end nodes.")


def keys(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(model.model_fields)


PROGRAM_KEYS = keys(DialogueProgramModel)
NODE_KEYS: dict[str, tuple[str, ...]] = {
    "line": keys(LineNodeModel), "choice": keys(ChoiceNodeModel), "end": keys(EndNodeModel)}
OPTION_KEYS = keys(DialogueOptionModel)


def dialogue_schemas() -> dict[str, Any]:
    """``$defs`` entries: ``DialogueProgram`` and the models it uses."""
    schema = DialogueProgramModel.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema.pop("$defs", {})
    defs["DialogueProgram"] = schema
    return defs
