"""The level compiler: a validated ``LevelModel`` → a frozen, indexed ``CompiledLevel``.

Steps, each reporting every problem it sees (STYLE 8):
1. tasks: ids (default ``task_NN``), tokens from targets, ``rule_refs``, ``rule_event``,
   milestones (objects or bare strings) and DriftSystem ``conditions[]`` (merged into the
   milestone holding the same token, or appended as ``<task>_condition_NN``), counts,
   rewards rendered through command templates, conditions and effects compiled;
2. listeners from ``rule_listeners`` then ``rules.listeners``: ids (top or metadata),
   gate ref, filtering type, outputs;
3. timers (``timers.py``) and dialogue programs (``dialogues.py``), their conditions and
   effects compiled by the same functions;
4. dispatch indexes (see ``compiled.py``).

References (``after``, task, milestone, dialogue and timer names) are not checked here:
``references.py`` checks them all, from the level's facts, once the file is compiled
(``registry.check_level``).
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from quest_runtime.atoms import BUILTIN_EVENT_TYPES, QUEST_EVENT, clean, slug, token_variants
from quest_runtime.conditions import Condition
from quest_runtime.effects import Effect
from quest_runtime.keywords import PhraseIndex
from quest_runtime.levels.clauses import compile_condition, compile_effects
from quest_runtime.levels.compiled import (
    CompiledLevel,
    CompiledListener,
    CompiledMilestone,
    CompiledReward,
    CompiledTask,
    CompiledTimer,
    ExitProfile,
)
from quest_runtime.levels.dialogues import EMPTY_BOOK, DialogueBook, compile_dialogues
from quest_runtime.levels.findings import join_pointer
from quest_runtime.levels.limits import MAX_PHRASE_CHARS, MAX_TASKS
from quest_runtime.levels.model import (
    LevelModel,
    ListenerMetadataModel,
    ListenerModel,
    MilestoneModel,
    RepeatModel,
    TargetObject,
    TaskDialogueModel,
    TaskModel,
    TypedRewardModel,
)
from quest_runtime.levels.report import Reporter
from quest_runtime.levels.textvars import narration
from quest_runtime.levels.timers import compile_timers, elapsed_gates
from quest_runtime.suggest import hint_for, near_miss

#: Listener types that also filter by event type (SPEC §4.6).
FILTERING_TYPES = frozenset(BUILTIN_EVENT_TYPES - {QUEST_EVENT})
DEFAULT_REWARD_COMMANDS = {
    "xp": "xp add {player} {amount}",
    "item": "give {player} {data.id} {amount}",
    "command": "{data.command}",
}
_TEMPLATE_FIELD = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
_PLAYER_FIELDS = frozenset({"player"})
#: The placeholders ``engine/commands.py`` fills with the player's name (SPEC §4.9).
_PLAYER_PLACEHOLDER = re.compile(r"\{player\}|%player%|@player(?![A-Za-z0-9_])")
#: Target selectors: run from the console they pick whoever is nearest (or everyone).
_SELECTOR = re.compile(r"@[aeprs](?![A-Za-z0-9_])")


def _variants(values: Iterable[str | None]) -> set[str]:
    out: set[str] = set()
    for v in values:
        if v:
            out.update(token_variants(v))
    return out


def _target_values(target: Any) -> list[str]:
    if target is None:
        return []
    if isinstance(target, str):
        return [target]
    if isinstance(target, list):
        return [t for t in target if isinstance(t, str)]
    if isinstance(target, TargetObject):
        return [v for v in (target.name or target.type,) if v]
    return []


def _render(template: str, reward: TypedRewardModel) -> str | None:
    """Fill ``{amount}`` and ``{data.x}`` now; ``{player}`` is left for §4.9."""
    values: dict[str, Any] = {"amount": reward.amount, "type": reward.type}
    missing: list[str] = []

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _PLAYER_FIELDS:
            return m.group(0)
        value = reward.data.get(name[5:]) if name.startswith("data.") else values.get(name)
        if value is None:
            missing.append(name)
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)

    out = _TEMPLATE_FIELD.sub(fill, template)
    return None if missing else out


def _dialogue_node(raw: Any) -> dict[str, Any] | None:
    """A listener's or reward's dialogue as an ``npc_dialogue`` node template."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return {"type": "npc_dialogue", "text": raw}
    if isinstance(raw, list):
        lines = [str(x) for x in raw]
        return {"type": "npc_dialogue", "text": "\n".join(lines), "lines": lines}
    if isinstance(raw, dict):
        node: dict[str, Any] = {"type": "npc_dialogue"}
        node.update(raw)
        if "text" not in node and isinstance(raw.get("script"), list):
            node["text"] = "\n".join(
                str(s.get("text", "")) for s in raw["script"] if isinstance(s, dict)
            )
        return node
    return None


_COLOUR_CODE = re.compile("\u00a7.?", re.DOTALL)


def end_level_targets(model: LevelModel) -> tuple[str, ...]:
    """``next_level`` of every ``end_level`` effect in the level, in file order."""
    found: dict[str, None] = {}
    # breadth first, as the file reads; a deque: ``list.pop(0)`` made a level with 10,000
    # listeners take ~3 s to compile here (quadratic in the level's size)
    stack: deque[Any] = deque([model.model_dump(include={"tasks", "rule_listeners", "rules",
                                                         "dialogues", "timers"})])
    while stack:
        item = stack.popleft()
        if isinstance(item, dict):
            if item.get("type") == "end_level" and isinstance(item.get("next_level"), str):
                found[item["next_level"]] = None
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return tuple(found)


def exit_profile(model: LevelModel) -> ExitProfile:
    """The level's ``exit`` with DriftSystem's spellings folded in."""
    raw = model.exit
    if raw is None:
        return ExitProfile()
    aliases: list[str] = []
    for value in (raw.aliases, raw.phrase_aliases):
        for alias in [value] if isinstance(value, str) else value or ():
            if alias.strip() and alias not in aliases:
                aliases.append(alias)
    hub: dict[str, Any] | None = dict(raw.hub) if raw.hub else None
    if hub is None and (raw.return_spawn or raw.teleport):
        hub = {"world": raw.return_spawn} if raw.return_spawn else {}
        for key in ("x", "y", "z", "yaw", "pitch"):
            if raw.teleport and key in raw.teleport:
                hub[key] = raw.teleport[key]
    return ExitProfile(tuple(aliases), raw.farewell, hub, raw.world_patch or None,
                       raw.next_level)


def npc_names(model: LevelModel) -> list[tuple[str, str]]:
    """``(visible name, id)`` of the NPCs a level declares: ``scene.npcs`` entries and
    ``spawn``/``spawn_multi`` definitions of its entry world patch that have both."""
    found: list[tuple[str, str]] = []
    extra = model.model_extra or {}
    scene = extra.get("scene")
    candidates: list[Any] = []
    if isinstance(scene, dict) and isinstance(scene.get("npcs"), list):
        candidates.extend(scene["npcs"])
    patch = model.world_patch
    for ops in (patch, *(_as_list(patch.get("mc")))):
        if isinstance(ops, dict):
            for key in ("spawn", "spawn_multi"):
                candidates.extend(_as_list(ops.get(key)))
    for npc in candidates:
        if isinstance(npc, dict):
            name, npc_id = npc.get("name"), npc.get("id")
            if isinstance(name, str) and isinstance(npc_id, str) and name.strip():
                found.append((name, npc_id))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _npc_aliases(name: str, npc_id: str) -> list[tuple[str, str]]:
    """Token pairs that make an NPC's visible name and its id equal in matching: the
    names themselves, and the ``near_…`` quest events the plugin builds from them
    (also with a leaked colour code: ``near_§eTomas`` arrives as ``near_etomas``)."""
    ids = token_variants(npc_id)
    if not ids:
        return []
    pairs = [(v, ids[0]) for v in token_variants(name) if v != ids[0]]
    near_id = slug("near_" + ids[0])
    for raw in (name, name.replace("\u00a7", "")):
        near_name = slug(clean("near_" + raw) if "\u00a7" in raw else "near_" + raw.lower())
        if near_name and near_name not in ("near", near_id):
            pairs.append((near_name, near_id))
    return pairs


#: Listener outputs that belong under ``metadata``; at the top they get a hint saying so.
_LISTENER_OUTPUTS = ("commands", "world_patch", "update_behaviors")


class LevelCompiler:
    """Compiles one level model; findings go to the reporter."""

    def __init__(self, model: LevelModel, rep: Reporter, level_id: str, version: str) -> None:
        self.model = model
        self.rep = rep
        self.level_id = level_id
        self.version = version
        self.reward_commands = {**DEFAULT_REWARD_COMMANDS, **model.reward_commands}
        #: Token of an NPC's id or visible name → the name players see (colour-free).
        self.npc_speakers: dict[str, str] = {}
        for name, npc_id in npc_names(model):
            for tok in (*token_variants(name), *token_variants(npc_id)):
                self.npc_speakers.setdefault(tok, clean(name) and _COLOUR_CODE.sub("", name))
        self.task_ids: list[str] = []
        self.dialogues: DialogueBook = EMPTY_BOOK

    # -- helpers ---------------------------------------------------------------------

    def _cond(self, spec: Any, pointer: str) -> Condition | None:
        return None if spec is None else compile_condition(spec, pointer, self.rep)

    def _effects(self, specs: list[dict[str, Any]], pointer: str) -> tuple[Effect, ...]:
        compiled = compile_effects(specs, pointer, self.rep) if specs else ()
        for e in compiled or ():
            self._effect_commands(e)
        return compiled or ()

    def _effect_commands(self, effect: Effect) -> None:
        if effect.type == "command" and isinstance(effect.args.get("command"), str):
            self._command_reach(str(effect.args["command"]),
                                join_pointer(effect.pointer, "command"), "command effect")
        for branch in (effect.branches or {}).values():
            for e in branch:
                self._effect_commands(e)

    def _command_reach(self, command: str, pointer: str, what: str) -> None:
        """A console command that names no player, or picks one by selector, is a warning
        (issue 10, Deliver 3): the plugin runs it from the console, where ``@p`` is whoever
        stands nearest the command's origin and a command without a name reaches no one."""
        selector = _SELECTOR.search(command)
        if selector is not None:
            self.rep.warning(pointer, f"{what} '{command}' uses the selector "
                             f"'{selector.group()}': run from the console it acts on whoever "
                             "is nearest (or on everyone), not on this player",
                             f"use {{player}} instead of '{selector.group()}'",
                             code="command_selector")
        elif _PLAYER_PLACEHOLDER.search(command) is None:
            self.rep.warning(pointer, f"{what} '{command}' names no player: run from the "
                             "console it reaches no one in particular",
                             "use {player} where the player's name goes, e.g. "
                             "'give {player} bread 1'", code="command_no_player")

    def _target_keys(self, target: Any, pointer: str) -> None:
        if isinstance(target, TargetObject):
            self._unknown_keys(target.model_extra, TargetObject.model_fields, pointer, "target")

    def _unknown_keys(self, extra: dict[str, Any] | None, known: Iterable[str], pointer: str,
                      what: str, kind: str | None = None) -> None:
        """Unknown keys of an owned object: near misses are errors (``Reporter.unknown_key``).

        ``kind`` names the object for the foreign-key table; by default the first word
        of ``what`` ("task", "listener", ...).
        """
        names = list(known)
        kind = kind or what.split(" ", 1)[0]
        for key in extra or {}:
            fallback = "it is kept but has no effect"
            if kind == "listener" and key in _LISTENER_OUTPUTS:
                fallback = (f"'{key}' belongs under 'metadata': "
                            f'"metadata": {{"{key}": ...}}; here it has no effect')
            self.rep.unknown_key(join_pointer(pointer, key), key, names, what, kind, fallback)

    # -- tasks -----------------------------------------------------------------------

    def _phrases(self, values: Iterable[tuple[str, str | None]]) -> None:
        """Chat phrases (``(pointer, text)``) longer than ``MAX_PHRASE_CHARS`` are errors."""
        for pointer, text in values:
            if text is not None and len(text) > MAX_PHRASE_CHARS:
                self.rep.error(pointer, f"a chat phrase of {len(text)} characters; the "
                               f"limit is {MAX_PHRASE_CHARS}", "a chat keyword is a word or "
                               "a short phrase the player types", code="too_long")

    def _task_phrases(self, raw: TaskModel, pointer: str) -> None:
        target = raw.target
        tp = join_pointer(pointer, "target")
        if isinstance(target, list):
            self._phrases((join_pointer(tp, i), t) for i, t in enumerate(target)
                          if isinstance(t, str))
        else:
            self._phrases((tp, v) for v in _target_values(target))
        self._phrases((join_pointer(pointer, "rule_refs", i), r)
                      for i, r in enumerate(raw.rule_refs))
        self._phrases([(join_pointer(pointer, "rule_event"), raw.rule_event)])
        for j, m in enumerate(raw.milestones):
            mp = join_pointer(pointer, "milestones", j)
            values = [m] if isinstance(m, str) else [
                *_target_values(m.target), m.event, m.milestone_event, m.rule_event,
                *m.alternates]
            self._phrases((mp, v) for v in values)
        for j, c in enumerate(raw.conditions):
            self._phrases((join_pointer(pointer, "conditions", j), v)
                          for v in (c.quest_event, c.rule_event, c.location, c.item, c.entity))

    def compile_tasks(self) -> list[CompiledTask]:
        tasks: list[CompiledTask] = []
        if len(self.model.tasks) > MAX_TASKS:
            self.rep.error("/tasks", f"the level has {len(self.model.tasks)} tasks; the limit "
                           f"is {MAX_TASKS} per level", "split it into several levels",
                           code="too_many")
            return tasks
        seen: dict[str, int] = {}
        for i, raw in enumerate(self.model.tasks):
            pointer = join_pointer("/tasks", i)
            task_id = raw.id or f"task_{i + 1:02d}"
            if task_id in seen:
                self.rep.error(join_pointer(pointer, "id"),
                               f"duplicate task id '{task_id}' (also task {seen[task_id] + 1})",
                               "task ids must be unique within a level", code="duplicate_id")
                continue
            seen[task_id] = i
            self.task_ids.append(task_id)
            tasks.append(self.compile_task(raw, i, task_id, pointer))
        return tasks

    def compile_task(self, raw: TaskModel, index: int, task_id: str, pointer: str) -> CompiledTask:
        self._unknown_keys(raw.model_extra, TaskModel.model_fields, pointer, f"task '{task_id}'")
        ttype = clean(raw.type) or "custom"
        if ttype == "chat":
            self._task_phrases(raw, pointer)
        milestones = self._milestones(raw, task_id, pointer)
        milestones, merged_sum = self._conditions(raw, task_id, pointer, milestones)
        total = sum(m.count for m in milestones)
        if raw.count is None:
            count = total or 1
        else:
            count = raw.count
            if raw.conditions:
                count = max(count, merged_sum)
        tokens = _variants([*_target_values(raw.target), *raw.rule_refs, raw.rule_event])
        for m in milestones:
            tokens |= m.tokens
        title = raw.title or task_id
        if not tokens and ttype == QUEST_EVENT:
            # there is no (quest_event, *) atom (SPEC §4.1), so nothing can match it
            self.rep.warning(pointer,
                             f"task '{task_id}' has no target: no quest event can progress it",
                             "give it a 'target': the quest_event name that counts",
                             code="dead_task")
        elif not tokens:
            self.rep.warning(pointer,
                             f"task '{task_id}' has no target: any '{ttype}' event progresses it",
                             "give it a 'target' so only the intended event counts",
                             code="wildcard_task")
        dialogue = raw.dialogue
        if isinstance(dialogue, str):
            dialogue = TaskDialogueModel(on_complete=dialogue)
        elif dialogue is not None:
            self._unknown_keys(dialogue.model_extra, TaskDialogueModel.model_fields,
                               join_pointer(pointer, "dialogue"), "task dialogue",
                               "task_dialogue")
        self._target_keys(raw.target, join_pointer(pointer, "target"))
        repeat = raw.repeatable
        cooldown = 0.0
        if not isinstance(repeat, bool):
            self._unknown_keys(repeat.model_extra, RepeatModel.model_fields,
                               join_pointer(pointer, "repeatable"), "repeatable")
            cooldown = float(repeat.cooldown_seconds)
        return CompiledTask(
            id=task_id, index=index, type=ttype, title=title, hint=raw.hint,
            tokens=frozenset(tokens), count=count, milestones=tuple(milestones),
            reward=self._reward(raw, pointer),
            on_issue=dialogue.on_issue if dialogue else None,
            on_progress=dialogue.on_progress if dialogue else None,
            on_complete_text=dialogue.on_complete if dialogue else None,
            requires=self._cond(raw.requires, join_pointer(pointer, "requires")),
            after=tuple(raw.after),
            on_complete=self._effects(raw.on_complete, join_pointer(pointer, "on_complete")),
            on_fail=self._effects(raw.on_fail, join_pointer(pointer, "on_fail")),
            repeatable=bool(repeat), cooldown_seconds=cooldown,
            time_limit_seconds=raw.time_limit_seconds,
            ensures=self._cond(raw.ensures, join_pointer(pointer, "ensures")),
            manual=raw.issue == "manual", pointer=pointer,
        )

    def _milestones(self, raw: TaskModel, task_id: str, pointer: str) -> list[CompiledMilestone]:
        out: list[CompiledMilestone] = []
        for j, m in enumerate(raw.milestones):
            mp = join_pointer(pointer, "milestones", j)
            if isinstance(m, str):
                out.append(CompiledMilestone(m, m, None, frozenset(_variants([m])), 1))
                continue
            self._unknown_keys(m.model_extra, MilestoneModel.model_fields, mp, "milestone")
            self._target_keys(m.target, join_pointer(mp, "target"))
            mid = m.id or f"{task_id}_milestone_{j + 1:02d}"
            tokens = _variants([*_target_values(m.target), m.event, m.milestone_event,
                                m.rule_event, *m.alternates])
            out.append(CompiledMilestone(mid, m.title or mid, m.hint, frozenset(tokens), m.count))
        return out

    def _conditions(
        self, raw: TaskModel, task_id: str, pointer: str, milestones: list[CompiledMilestone]
    ) -> tuple[list[CompiledMilestone], int]:
        explicit = len(milestones)
        touched: dict[int, None] = {}
        for j, c in enumerate(raw.conditions):
            cp = join_pointer(pointer, "conditions", j)
            self._unknown_keys(c.model_extra, type(c).model_fields, cp, "condition entry")
            tokens = _variants([c.quest_event, c.rule_event, c.location, c.item, c.entity])
            if not tokens:
                self.rep.warning(cp, "this condition names no quest_event, rule_event, "
                                 "location, item or entity, so nothing can meet it",
                                 code="empty_condition")
            target = next((k for k in range(explicit) if milestones[k].tokens & tokens), None)
            if target is not None:
                m = milestones[target]
                milestones[target] = CompiledMilestone(m.id, m.title, m.hint,
                                                       m.tokens | frozenset(tokens),
                                                       max(m.count, c.count))
                touched[target] = None
            else:
                mid = c.id or f"{task_id}_condition_{j + 1:02d}"
                title = c.title or next(iter(sorted(tokens)), mid)
                milestones.append(CompiledMilestone(mid, title, c.hint, frozenset(tokens),
                                                    c.count))
                touched[len(milestones) - 1] = None
        return milestones, sum(milestones[k].count for k in touched)

    def _speaker(self, raw: TaskModel) -> str | None:
        """The visible name of the declared NPC a near/interact_entity task targets."""
        if raw.type not in ("near", "interact_entity") or not self.npc_speakers:
            return None
        targets = raw.target if isinstance(raw.target, list) else [raw.target]
        for target in targets:
            if isinstance(target, str):
                for tok in token_variants(target):
                    if tok in self.npc_speakers:
                        return self.npc_speakers[tok]
        return None

    def _reward(self, raw: TaskModel, pointer: str) -> CompiledReward | None:
        commands: list[str] = []
        items: list[tuple[str, int]] = []
        patch = None
        dialogue = None
        if raw.reward is not None:
            self._unknown_keys(raw.reward.model_extra, type(raw.reward).model_fields,
                               join_pointer(pointer, "reward"), "reward", "reward_object")
            patch = raw.reward.world_patch or None
            dialogue = _dialogue_node(raw.reward.npc_dialogue)
            if dialogue is not None and not dialogue.get("title"):
                speaker = self._speaker(raw)
                if speaker:  # the NPC the task is about says the reward line
                    dialogue["title"] = speaker
            commands.extend(raw.reward.commands)
            for j, command in enumerate(raw.reward.commands):
                self._command_reach(command, join_pointer(pointer, "reward", "commands", j),
                                    "reward command")
        for j, r in enumerate(raw.rewards):
            rp = join_pointer(pointer, "rewards", j)
            if isinstance(r, str):
                self.rep.warning(rp, f"bare-string reward '{r}' produces nothing",
                                 'write a typed reward, e.g. {"type": "item", "amount": 1, '
                                 f'"data": {{"id": "{r}"}}}}', code="bare_reward")
                continue
            self._unknown_keys(r.model_extra, TypedRewardModel.model_fields, rp, "reward")
            template = self.reward_commands.get(r.type)
            if template is None:
                self.rep.warning(join_pointer(rp, "type"), f"unknown reward type '{r.type}' "
                                 "produces nothing",
                                 hint_for(r.type, self.reward_commands)
                                 or "add a template for it under 'reward_commands'",
                                 code="unknown_reward")
                continue
            rendered = _render(template, r)
            if rendered is None:
                self.rep.warning(rp, f"reward '{r.type}' lacks a value its command template "
                                 f"'{template}' needs", code="reward_template")
                continue
            commands.append(rendered)
            where = join_pointer(rp, "data", "command") if r.type == "command" else rp
            self._command_reach(rendered, where, "reward command")
            if r.type == "item" and isinstance(r.data.get("id"), str):
                items.append((r.data["id"], int(r.amount)))
        if patch is None and dialogue is None and not commands and not items:
            return None
        return CompiledReward(patch, dialogue, tuple(commands), tuple(items))

    # -- listeners -------------------------------------------------------------------

    def compile_listeners(self) -> list[CompiledListener]:
        sources: list[tuple[str, ListenerModel]] = [
            (join_pointer("/rule_listeners", i), lm)
            for i, lm in enumerate(self.model.rule_listeners)
        ]
        if self.model.rules is not None:
            sources += [(join_pointer("/rules/listeners", i), lm)
                        for i, lm in enumerate(self.model.rules.listeners)]
        out: list[CompiledListener] = []
        seen: dict[str, str] = {}
        for index, (pointer, lm) in enumerate(sources):
            meta = lm.metadata
            lid = lm.id or meta.id or f"listener_{index + 1:02d}"
            if lid in seen:
                self.rep.warning(pointer, f"duplicate listener id '{lid}' (also at "
                                 f"{seen[lid]})", "give each listener its own id: once and "
                                 "cooldown marks are kept by id", code="duplicate_id")
                lid = f"{lid}#{index + 1}"
            seen[lid] = pointer
            self._unknown_keys(lm.model_extra, ListenerModel.model_fields, pointer,
                               f"listener '{lid}'")
            self._metadata_keys(meta, join_pointer(pointer, "metadata"), lid)
            for j, command in enumerate(meta.commands):
                self._command_reach(command, join_pointer(pointer, "metadata", "commands", j),
                                    f"listener '{lid}' command")
            ltype = clean(lm.type) if lm.type else None
            filter_type = ltype if ltype in FILTERING_TYPES else None
            tokens = _variants([lm.quest_event, *lm.targets])
            if filter_type in (None, "chat"):
                self._phrases((join_pointer(pointer, "targets", j), t)
                              for j, t in enumerate(lm.targets))
            if not tokens:
                if filter_type is None:
                    self.rep.warning(pointer, f"listener '{lid}' has no type that filters and "
                                     "no targets or quest_event, so it never fires",
                                     "add 'targets' or a 'quest_event'", code="dead_listener")
                else:
                    self.rep.warning(pointer, f"listener '{lid}' has no targets: it fires for "
                                     f"every '{filter_type}' event", code="wildcard_listener")
            # the model admits only true, false, "session" and "player" (strict values)
            once: str | None = "player" if lm.once == "player" else (
                "session" if lm.once else None)
            dialogue = _dialogue_node(lm.dialogue if lm.dialogue is not None else meta.dialogue)
            out.append(CompiledListener(
                id=lid, index=index, type=ltype, filter_type=filter_type,
                tokens=frozenset(tokens), phrases=frozenset(_variants(lm.targets)),
                gate_ref=lm.rule_ref or meta.rule_ref or meta.ref,
                requires=self._cond(lm.requires, join_pointer(pointer, "requires")),
                once=once, cooldown_seconds=float(lm.cooldown_seconds),
                blocked_text=lm.blocked_text or meta.blocked_text,
                dialogue=dialogue, world_patch=meta.world_patch or None,
                commands=tuple(meta.commands),
                update_behaviors=tuple(meta.update_behaviors),
                effects=self._effects(lm.effects, join_pointer(pointer, "effects")),
                pointer=pointer,
            ))
        return out

    def _metadata_keys(self, meta: ListenerMetadataModel, pointer: str, lid: str) -> None:
        """Listener metadata is free-form by tradition (other tools keep their keys
        there, silently); only a near miss of a key the engine reads is reported, as an
        error."""
        names = list(ListenerMetadataModel.model_fields)
        for key in meta.model_extra or {}:
            if near_miss(key, names) is not None:
                self.rep.unknown_key(join_pointer(pointer, key), key, names,
                                     f"the metadata of listener '{lid}'", "listener_metadata")

    # -- the whole level ----------------------------------------------------------

    def compile(self, path: str) -> CompiledLevel | None:
        model = self.model
        tasks = self.compile_tasks()
        listeners = self.compile_listeners()
        timers = compile_timers(model.timers, self.rep, self._effects, self._unknown_keys)
        self.dialogues = compile_dialogues(model.dialogues, self.rep, self._effects,
                                           self._cond)
        requires = self._cond(model.requires, "/requires")
        ensures = self._cond(model.ensures, "/ensures")
        if model.summary is not None:
            self._unknown_keys(model.summary.model_extra, type(model.summary).model_fields,
                               "/summary", "summary")
        if model.flag_text is not None:
            self._unknown_keys(model.flag_text.model_extra, type(model.flag_text).model_fields,
                               "/flag_text", "flag_text")
        if model.exit is not None:
            self._unknown_keys(model.exit.model_extra, type(model.exit).model_fields,
                               "/exit", "exit")
        if self.rep.has_errors:
            return None
        return build_level(self, path, tasks, listeners, requires, ensures, timers)


def build_level(
    c: LevelCompiler, path: str, tasks: list[CompiledTask], listeners: list[CompiledListener],
    requires: Condition | None, ensures: Condition | None,
    timers: dict[str, CompiledTimer] | None = None,
) -> CompiledLevel:
    """Index tasks and listeners and freeze the level."""
    model = c.model
    task_index, task_wild, task_phrases, milestone_by_id = _task_indexes(c, tasks)
    listener_index, listener_wild, listener_phrases = _listener_indexes(listeners)
    aliases = _level_aliases(model)
    title = model.title or c.level_id
    summary = model.summary
    return CompiledLevel(
        id=c.level_id, title=title, path=path, version=c.version, loaded_at=time.time(),
        tasks=tuple(tasks), listeners=tuple(listeners),
        task_by_id={t.id: t for t in tasks}, milestone_by_id=milestone_by_id,
        task_index={k: tuple(v) for k, v in task_index.items()},
        task_wildcards={k: tuple(v) for k, v in task_wild.items()},
        task_phrases=PhraseIndex.build(task_phrases),
        listener_index={k: tuple(v) for k, v in listener_index.items()},
        listener_wildcards={k: tuple(v) for k, v in listener_wild.items()},
        listener_phrases=PhraseIndex.build(listener_phrases),
        aliases=aliases, world_patch=model.world_patch,
        summary_title=(summary.title if summary and summary.title else f"{title} · summary"),
        summary_text=(summary.text if summary and summary.text
                      else "Every task of this level is complete."),
        requires=requires, ensures=ensures, blocked_text=model.blocked_text,
        dialogues=c.dialogues,
        timers=timers or {}, elapsed_gates=elapsed_gates(tasks),
        foreign=dict(model.model_extra or {}),
        findings=tuple(c.rep.findings),
        exit=exit_profile(model),
        next_levels=end_level_targets(model),
        flag_text=((model.flag_text.yes, model.flag_text.no) if model.flag_text
                   else ("true", "false")),
        text_variables=any("{" in text or "}" in text
                           for _, text, _ in narration(c.rep.source.data)),
    )


def _task_indexes(c: LevelCompiler, tasks: list[CompiledTask]) -> tuple[
        dict[tuple[str, str], list[int]], dict[str, list[int]], list[tuple[str, int]],
        dict[str, tuple[str, int]]]:
    """(task index by (type, token), wildcard tasks by type, chat phrases, milestone by
    id); warns of a milestone id used twice."""
    task_index: dict[tuple[str, str], list[int]] = {}
    task_wild: dict[str, list[int]] = {}
    task_phrases: list[tuple[str, int]] = []
    milestone_by_id: dict[str, tuple[str, int]] = {}
    for t in tasks:
        for j, m in enumerate(t.milestones):
            if m.id in milestone_by_id:
                c.rep.warning(join_pointer(t.pointer, "milestones", j),
                              f"milestone id '{m.id}' is used twice in this level",
                              "give each milestone its own id: milestone_completed and the "
                              "quest log refer to milestones by id", code="duplicate_id")
            milestone_by_id.setdefault(m.id, (t.id, m.count))
        if not t.tokens:
            if t.type != QUEST_EVENT:
                task_wild.setdefault(t.type, []).append(t.index)
            continue
        for tok in t.tokens:
            task_index.setdefault((t.type, tok), []).append(t.index)
            if t.type == "chat":
                task_phrases.append((tok, t.index))
    return task_index, task_wild, task_phrases, milestone_by_id


def _listener_indexes(listeners: list[CompiledListener]) -> tuple[
        dict[str, list[int]], dict[str, list[int]], list[tuple[str, int]]]:
    """(listener index by token, wildcard listeners by filter type, chat phrases)."""
    listener_index: dict[str, list[int]] = {}
    listener_wild: dict[str, list[int]] = {}
    listener_phrases: list[tuple[str, int]] = []
    for li in listeners:
        if not li.tokens:
            if li.filter_type is not None:
                listener_wild.setdefault(li.filter_type, []).append(li.index)
            continue
        for tok in li.tokens:
            listener_index.setdefault(tok, []).append(li.index)
        if li.filter_type in (None, "chat"):
            # only targets are chat keywords; a quest_event is matched as a token (§4.6)
            listener_phrases.extend((tok, li.index) for tok in li.phrases)
    return listener_index, listener_wild, listener_phrases


def _level_aliases(model: LevelModel) -> dict[str, str]:
    """NPC name aliases both ways, then the level's own aliases (which win)."""
    aliases: dict[str, str] = {}
    for name, npc_id in npc_names(model):
        for a, b in _npc_aliases(name, npc_id):
            aliases.setdefault(a, b)
            aliases.setdefault(b, a)
    for src, dst in model.aliases.items():  # the level's own aliases win
        targets = token_variants(dst)
        if targets:
            for v in token_variants(src):
                aliases[v] = targets[0]
    return aliases
