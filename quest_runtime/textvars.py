"""Text variables in narration: ``{player}``, ``{var:NAME}``, ``{item:NAME}``, ``{flag:NAME}``.

The grammar, shared by the validator (``levels/textvars.py``) and the engine, which fills
every result once, when it is built (``engine/core.Engine._finish``)::

    {player}       the player's name (the id the plugin sends)
    {var:NAME}     the player's var NAME (0 when unset; 3.0 prints as 3)
    {item:NAME}    how many NAME the player holds in the quest ledger (0 when none)
    {flag:NAME}    the level's ``flag_text`` yes/no text, else ``true``/``false``
    {{  }}         a literal ``{`` / ``}`` (a lone ``}`` is literal too)

Filling is one pass over the text as the designer wrote it: what a placeholder puts in
(a player's name, say) is never read again, so a name such as ``{var:x}`` shows as
written. Only narration is filled (``NODE_TEXT_KEYS`` of nodes, the summary, world-patch
``tell`` lines); console commands never see a text variable (they keep their own
``{player}`` filling and name check in ``engine/commands.py``), and no player input is
ever part of a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from quest_runtime.engine.shapes import Node, QuestLog, QuestLogTask
from quest_runtime.suggest import did_you_mean

KINDS = ("var", "item", "flag")
#: Every placeholder form, for did-you-mean on a misspelt one.
FORMS = ("player", *(f"{k}:" for k in KINDS))
#: A well-formed placeholder or an escape; anything else is left as written.
_TOKEN = re.compile(r"\{\{|\}\}|\{(player|(?:var|item|flag):[^{}\s]+)\}")
#: The whole grammar as one pattern (ECMA-262 and Python alike): a narration string that
#: matches it is one ``scan`` finds no problem in. For the level schema (editors), not
#: for filling: ``{`` only as ``{{`` or a well-formed placeholder; ``}`` is always literal.
NARRATION_PATTERN = r"^(?:[^{]|\{\{|\{(?:player|(?:var|item|flag):[^{}\s]+)\})*$"
#: A name (titles, speakers) takes no placeholder and no escape: no ``{`` and no ``}}``.
NAME_PATTERN = r"^(?:[^{}]|\}(?!\}))*$"
#: Keys of a result node whose strings are narration (ids and rule events are not).
NODE_TEXT_KEYS = frozenset({"title", "text", "hint", "prompt", "label", "lines"})
#: Lists of a node whose entries are narration objects (``npc`` of a script line is a name).
_NODE_LISTS = frozenset({"script", "choices"})


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One placeholder or problem found in a text: where it starts (a character offset)."""

    offset: int
    raw: str
    kind: str = ""  # "player", "var", "item", "flag"; "" for a problem
    name: str = ""
    problem: str = ""  # why it is not a placeholder, with ``hint``
    hint: str | None = None


def scan(text: str) -> list[Placeholder]:
    """Every placeholder of ``text`` and every brace that is neither one nor an escape."""
    out: list[Placeholder] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "}" or (c == "{" and text.startswith("{{", i)):
            i += 2 if text.startswith(c * 2, i) else 1
            continue
        if c != "{":
            i += 1
            continue
        end = text.find("}", i + 1)
        nested = text.find("{", i + 1)
        if end < 0 or (0 <= nested < end):
            out.append(Placeholder(i, "{", problem="'{' opens no text variable",
                                   hint="write '{{' for a literal '{'"))
            i += 1
            continue
        raw = text[i:end + 1]
        inner = raw[1:-1]
        i = end + 1
        if inner == "player":
            out.append(Placeholder(i - len(raw), raw, "player"))
            continue
        kind, colon, name = inner.partition(":")
        if colon and kind in KINDS:
            if not name:
                out.append(Placeholder(i - len(raw), raw, problem=f"'{raw}' names no {kind}",
                                       hint=f"write '{{{kind}:NAME}}'"))
            elif name != name.strip() or any(ch.isspace() for ch in name):
                out.append(Placeholder(i - len(raw), raw,
                                       problem=f"'{raw}': a {kind} name has no spaces",
                                       hint=f"did you mean '{{{kind}:{name.strip()}}}'?"
                                       if name.strip() and " " not in name.strip() else None))
            else:
                out.append(Placeholder(i - len(raw), raw, kind, name))
            continue
        guess = did_you_mean(kind + ":" if colon else inner, FORMS)
        if guess is None:
            hint = "write '{{' for a literal '{'"
        elif guess == "player":
            hint = "did you mean '{player}'?"
        else:
            hint = f"did you mean '{{{guess}{name if colon and name else 'NAME'}}}'?"
        out.append(Placeholder(i - len(raw), raw,
                               problem=f"unknown text variable '{raw}' (known: {{player}}, "
                               "{var:NAME}, {item:NAME}, {flag:NAME})", hint=hint))
    return out


# -- filling -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Values:
    """What the placeholders of one result read: the player's state when it is built."""

    player: str
    vars: Mapping[str, float | int]
    items: Mapping[str, int]
    flags: frozenset[str] | set[str]
    flag_text: tuple[str, str] = ("true", "false")

    def value(self, token: str) -> str:
        if token == "player":
            return self.player
        kind, _, name = token.partition(":")
        if kind == "flag":
            return self.flag_text[0] if name in self.flags else self.flag_text[1]
        number = (self.vars if kind == "var" else self.items).get(name, 0)
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        return str(number)


def fill(text: str, values: Values) -> str:
    """``text`` with its placeholders and escapes filled, in one pass."""
    if "{" not in text and "}" not in text:
        return text

    def one(m: re.Match[str]) -> str:
        token = m.group(1)
        if token is None:
            return m.group(0)[0]
        return values.value(token)

    return _TOKEN.sub(one, text)


Fill = Callable[[str], str]


def fillers(values: Values) -> tuple[Callable[[Node], Node],
                                     Callable[[Mapping[str, Any]], Mapping[str, Any]]]:
    """The node and world-patch rewriters ``ResultBuilder.fill_texts`` takes."""
    def text(s: str) -> str:
        return fill(s, values)

    return (lambda node: cast(Node, fill_node(node, text))), (lambda patch: fill_patch(patch, text))


def fill_node(node: Mapping[str, Any], text: Fill) -> dict[str, Any]:
    """The result node with its narration filled: a copy when anything changes (level
    data is never changed), else the node itself."""
    out: dict[str, Any] | None = None
    for key, value in node.items():
        if key in NODE_TEXT_KEYS:
            if isinstance(value, str):
                new: Any = text(value)
                changed = new is not value and new != value
            elif isinstance(value, list):
                new = [text(v) if isinstance(v, str) else v for v in value]
                changed = new != value
            else:
                continue
        elif key in _NODE_LISTS and isinstance(value, list):
            new = [fill_node(v, text) if isinstance(v, Mapping) else
                   text(v) if isinstance(v, str) and key == "script" else v for v in value]
            changed = any(a is not b for a, b in zip(new, value, strict=True))
        else:
            continue
        if changed:
            if out is None:
                out = dict(node)
            out[key] = new
    if out is not None:
        return out
    return node if isinstance(node, dict) else dict(node)


def fill_patch(patch: Mapping[str, Any], text: Fill) -> Mapping[str, Any]:
    """The world patch with its ``tell`` lines filled (top level and under ``mc``); the
    patch itself when nothing changes."""
    if not _braced(patch.get("tell")) and not _braced(patch.get("mc")):
        return patch
    out = dict(patch)
    if "tell" in patch:
        out["tell"] = _fill_tell(patch["tell"], text)
    mc = patch.get("mc")
    if isinstance(mc, Mapping) and "tell" in mc:
        out["mc"] = {**mc, "tell": _fill_tell(mc["tell"], text)}
    elif isinstance(mc, list):
        out["mc"] = [{**layer, "tell": _fill_tell(layer["tell"], text)}
                     if isinstance(layer, Mapping) and "tell" in layer else layer
                     for layer in mc]
    return out


def _braced(value: Any) -> bool:
    """Some string in ``value`` (a tell line, an ``mc`` object or list) holds a brace."""
    if isinstance(value, str):
        return "{" in value or "}" in value
    if isinstance(value, Mapping):
        return _braced(value.get("tell"))
    if isinstance(value, list):
        return any(_braced(v) for v in value)
    return False


def fill_quest_log(log: QuestLog | None, values: Values) -> QuestLog | None:
    """A quest-log snapshot with each task's ``hint`` filled (titles are names)."""
    if log is None or not any("{" in (t.get("hint") or "") or "}" in (t.get("hint") or "")
                              for t in log.get("tasks") or ()):
        return log
    tasks: list[QuestLogTask] = [{**t, "hint": fill(hint, values)} if (hint := t.get("hint"))
                                 else t for t in log["tasks"]]
    filled: QuestLog = {**log, "tasks": tasks}
    return filled


def _fill_tell(value: Any, text: Fill) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list):
        return [text(v) if isinstance(v, str) else v for v in value]
    return value
