"""Level facts: every id one level file defines and every name it refers to.

The cross-level registry (``registry.py``) checks references between ids; this module
only collects them, from the validated raw model (``model.py``), so a file whose compile
failed still contributes what it defines and uses. Each use is a :class:`Use`: the name,
the JSON pointer of the field that holds it, and what holds it (``set_flag``,
``has_item``, ``reward``, ...), so a finding can point at it.

Conditions and effects are walked with the help of their registries: combinators
(``all_of``, ``not``) and ``if`` branches are followed, so a flag read deep inside an
``any_of`` still counts. Which names a condition or effect reads or writes is declared
by its type, on the field that holds the name (``Param.names`` in ``conditions/builtin.py``
and ``effects/builtin.py``); this module keeps no table of its own.

Every string is recorded, the empty one too: an effect naming the task or timer ``""``
still names an unknown one. The checks that ignore empty names use
:meth:`LevelFacts.named`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from quest_runtime.conditions import CONDITION_TYPES
from quest_runtime.effects import EFFECT_TYPES
from quest_runtime.levels.findings import join_pointer
from quest_runtime.levels.limits import MAX_CONDITION_DEPTH, MAX_EFFECT_DEPTH
from quest_runtime.levels.model import LevelModel, ListenerModel, TaskModel
from quest_runtime.levels.source import LevelSource
from quest_runtime.levels.textvars import text_uses
from quest_runtime.params import Param


@dataclass(frozen=True, slots=True)
class Use:
    """One mention of a name: where it sits and what mentions it."""

    name: str
    pointer: str
    by: str
    #: Where in the string at ``pointer`` (a text variable), else -1.
    offset: int = -1


@dataclass(slots=True)
class LevelFacts:
    """What one level file defines (ids with pointers) and uses (``uses[kind]``)."""

    source: LevelSource
    level_id: str
    tasks: dict[str, str] = field(default_factory=dict)  # id -> pointer, file order
    task_types: dict[str, str] = field(default_factory=dict)
    manual_tasks: set[str] = field(default_factory=set)
    after: dict[str, list[Use]] = field(default_factory=dict)
    milestones: set[str] = field(default_factory=set)
    listeners: dict[str, str] = field(default_factory=dict)
    gates: list[Use] = field(default_factory=list)
    dialogues: set[str] = field(default_factory=set)
    timers: set[str] = field(default_factory=set)
    event_types: set[str] = field(default_factory=set)  # custom event types levels produce
    foreign_keys: list[str] = field(default_factory=list)
    uses: dict[str, list[Use]] = field(default_factory=lambda: defaultdict(list))

    @property
    def file(self) -> str:
        return self.source.path

    def named(self, kind: str) -> list[Use]:
        """The uses of ``kind`` that name something (the empty name left out)."""
        return [u for u in self.uses.get(kind, ()) if u.name]


def level_facts(model: LevelModel, source: LevelSource, level_id: str) -> LevelFacts:
    """Collect the facts of one validated level model."""
    facts = LevelFacts(source, level_id)
    walk = _Walker(facts)
    walk.condition(model.requires, "/requires")
    walk.condition(model.ensures, "/ensures")
    for i, task in enumerate(model.tasks):
        _task_facts(facts, walk, task, i)
    _listener_facts(facts, walk, model)
    for name, timer in model.timers.items():
        facts.timers.add(name)
        walk.effects(timer.effects, join_pointer("/timers", name, "effects"))
    for name, program in model.dialogues.items():
        facts.dialogues.add(name)
        walk.dialogue(name, program, join_pointer("/dialogues", name))
    for kind, ph, pointer in text_uses(source.data):
        facts.uses[f"text_{kind}"].append(Use(ph.name, pointer, f"text variable '{ph.raw}'",
                                              ph.offset))
    extra = model.model_extra or {}
    facts.foreign_keys = [k for k in extra if k != "$schema"]
    choices = extra.get("choices")
    if isinstance(choices, list):  # DriftSystem's level-end choices carry rule events
        for c in choices:
            if isinstance(c, dict) and isinstance(c.get("rule_event"), str):
                facts.event_types.add(c["rule_event"].strip().lower())
    return facts


def _task_facts(facts: LevelFacts, walk: _Walker, task: TaskModel, i: int) -> None:
    """The facts of the task at ``/tasks/<i>``."""
    pointer = join_pointer("/tasks", i)
    task_id = task.id or f"task_{i + 1:02d}"
    if task_id in facts.tasks:
        return  # a duplicate: the compiler reports it
    facts.tasks[task_id] = pointer
    facts.task_types[task_id] = (task.type or "custom").strip().lower() or "custom"
    if task.issue == "manual":
        facts.manual_tasks.add(task_id)
    facts.after[task_id] = [Use(dep, join_pointer(pointer, "after", j), task_id)
                            for j, dep in enumerate(task.after)]
    for j, m in enumerate(task.milestones):
        facts.milestones.add(m if isinstance(m, str)
                             else m.id or f"{task_id}_milestone_{j + 1:02d}")
    for j, c in enumerate(task.conditions):  # merged or not: both ids are accepted
        facts.milestones.add(c.id or f"{task_id}_condition_{j + 1:02d}")
    walk.condition(task.requires, join_pointer(pointer, "requires"))
    walk.condition(task.ensures, join_pointer(pointer, "ensures"))
    walk.effects(task.on_complete, join_pointer(pointer, "on_complete"))
    walk.effects(task.on_fail, join_pointer(pointer, "on_fail"))
    for j, r in enumerate(task.rewards):
        if not isinstance(r, str) and r.type == "item" and isinstance(r.data.get("id"), str):
            facts.uses["item_granted"].append(
                Use(r.data["id"], join_pointer(pointer, "rewards", j, "data", "id"), "reward"))


def _listener_facts(facts: LevelFacts, walk: _Walker, model: LevelModel) -> None:
    """The facts of every listener (``rule_listeners`` then ``rules.listeners``)."""
    listeners: list[tuple[str, ListenerModel]] = [
        (join_pointer("/rule_listeners", i), lm) for i, lm in enumerate(model.rule_listeners)]
    if model.rules is not None:
        listeners += [(join_pointer("/rules/listeners", i), lm)
                      for i, lm in enumerate(model.rules.listeners)]
    for index, (pointer, lm) in enumerate(listeners):
        lid = lm.id or lm.metadata.id or f"listener_{index + 1:02d}"
        facts.listeners.setdefault(lid, pointer)
        gate = lm.rule_ref or lm.metadata.rule_ref or lm.metadata.ref
        if gate:
            where = "rule_ref" if lm.rule_ref else (
                "metadata/rule_ref" if lm.metadata.rule_ref else "metadata/ref")
            facts.gates.append(Use(gate, f"{pointer}/{where}", lid))
        walk.condition(lm.requires, join_pointer(pointer, "requires"))
        walk.effects(lm.effects, join_pointer(pointer, "effects"))


class _Walker:
    """Follows conditions and effects (raw objects) and records the names they use."""

    def __init__(self, facts: LevelFacts) -> None:
        self.facts = facts

    def condition(self, spec: Any, pointer: str, depth: int = 1) -> None:
        if not isinstance(spec, dict) or depth > MAX_CONDITION_DEPTH:
            return  # too deep: the compiler reports it
        ctype = spec.get("type")
        if not isinstance(ctype, str) or ctype not in CONDITION_TYPES:
            return
        kind = CONDITION_TYPES[ctype]
        self._uses(kind.params, spec, pointer, ctype)
        children = kind.children
        if children == "conditions" and isinstance(spec.get("conditions"), list):
            for i, child in enumerate(spec["conditions"]):
                self.condition(child, join_pointer(pointer, "conditions", i), depth + 1)
        elif children == "condition":
            self.condition(spec.get("condition"), join_pointer(pointer, "condition"), depth + 1)

    def effects(self, specs: Any, pointer: str, depth: int = 1) -> None:
        if depth > MAX_EFFECT_DEPTH:
            return  # too deep: the compiler reports it
        if isinstance(specs, dict):
            self.effect(specs, pointer, depth)
        elif isinstance(specs, list):
            for i, spec in enumerate(specs):
                self.effect(spec, join_pointer(pointer, i), depth)

    def effect(self, spec: Any, pointer: str, depth: int = 1) -> None:
        if not isinstance(spec, dict):
            return
        etype = spec.get("type")
        if not isinstance(etype, str) or etype not in EFFECT_TYPES:
            return
        kind = EFFECT_TYPES[etype]
        self._uses(kind.params, spec, pointer, etype)
        if kind.condition:
            self.condition(spec.get(kind.condition), join_pointer(pointer, kind.condition))
        for branch in kind.branches:
            self.effects(spec.get(branch), join_pointer(pointer, branch), depth + 1)

    def dialogue(self, name: str, program: Any, pointer: str) -> None:
        nodes = program.get("nodes") if isinstance(program, dict) else None
        if not isinstance(nodes, dict):
            return
        for node_id, node in nodes.items():
            if not isinstance(node, dict):
                continue
            np = join_pointer(pointer, "nodes", node_id)
            self.condition(node.get("requires"), join_pointer(np, "requires"))
            self.effects(node.get("effects"), join_pointer(np, "effects"))
            options = node.get("options")
            for i, option in enumerate(options if isinstance(options, list) else []):
                if not isinstance(option, dict):
                    continue
                op = join_pointer(np, "options", i)
                self.condition(option.get("requires"), join_pointer(op, "requires"))
                self.effects(option.get("effects"), join_pointer(op, "effects"))
                if isinstance(option.get("id"), str):
                    self.facts.event_types.add(f"choice__{name}__{option['id']}".lower())
                if isinstance(option.get("rule_event"), str):
                    self.facts.event_types.add(option["rule_event"].strip().lower())

    def _uses(self, params: Mapping[str, Param], spec: dict[str, Any], pointer: str,
              by: str) -> None:
        """Record the names the clause ``spec`` holds in the fields its type declares."""
        for arg, param in params.items():
            value = spec.get(arg)
            if param.names is not None and isinstance(value, str):
                self.facts.uses[param.names].append(Use(value, join_pointer(pointer, arg), by))
