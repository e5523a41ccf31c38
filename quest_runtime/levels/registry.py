"""The registry of ids across levels: dangling references, duplicates, dead ends (seed 002).

Seed 002's entity registry, applied to level files: every id is defined once and every
reference resolves. Two layers, both fed by :class:`~quest_runtime.levels.facts.LevelFacts`:

1. :func:`check_level` runs on every load (service and tools alike), because its
   problems are inside one file. Errors reject the level:
   - ``task_completed``/``task_active``/``milestone_completed`` naming an unknown task or
     milestone; ``start_dialogue`` and timer effects/conditions naming an unknown
     dialogue or timer (each with did-you-mean);
   - ``after`` cycles (those tasks could never be issued).
   - a malformed or unknown text variable in narration (``{var:}``, ``{palyer}``), or
     one in a name (titles, speakers): ``levels/textvars.check_texts``.
   Warnings: an ``activate_rule`` ref no listener is gated by, a listener gated by a ref
   nothing activates, a manual task nothing issues, a dialogue or timer no effect starts
   (``start_dialogue``; ``schedule_timer``/``fire_timer``), a task whose type no rule
   event can carry (below), and a top-level key that looks like a misspelt owned key (``taks``).
2. :class:`Registry` runs in ``quest-runtime validate`` over every file given, because
   flags, items, vars and level ids are per player, not per level:
   - a level id used by two files anywhere under the folder: an error at every file
     after the first in :func:`serving_order` (shallowest path first, then
     lexicographic), naming the first, which is the one the service serves; a
     byte-identical copy is a warning instead (whichever file serves, the level is the
     same; the first edit of either copy makes it an error);
   - a task id that another level uses too (warning: quest logs and journals name tasks
     by id, so the player would see two quests under one name);
   - flags read but never set, vars read but never set, items required (``has_item``)
     but never granted (no ``gain_item``, no ``item`` reward), anywhere;
   - a text variable (``{var:x}``, ``{item:x}``, ``{flag:x}``) naming a var, item or
     flag nothing sets in any of the files: an error (the text would always show 0);
   - ``level_completed`` and ``end_level.next_level`` naming a level none of the files
     define (a warning: validate may be given only some of the levels).

*Tasks nothing can complete.* A task progresses on atoms of its ``type``. The built-in
event types (``near``, ``chat``, ``interact_block``, ``interact_entity``, ``quest_event``,
``choice``) are what the plugin sends. Any other type progresses only if some rule event
carries it as its ``event_type``: a dialogue choice (``choice__<dialogue>__<option>``, or
an option's ``rule_event``) or a mapped NPC click the plugin is configured with. We
cannot see the plugin's configuration, so a custom type that no level produces and no
``complete_task`` effect names is a warning, not an error (DriftSystem's ``story`` tasks
are exactly this: they are completed by the story system, never by a rule event).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from quest_runtime.atoms import BUILTIN_EVENT_TYPES
from quest_runtime.levels.facts import LevelFacts, Use
from quest_runtime.levels.findings import Finding, Severity, join_pointer
from quest_runtime.levels.model import LevelModel
from quest_runtime.levels.report import Reporter
from quest_runtime.levels.textvars import check_texts, column_at
from quest_runtime.suggest import hint_for

#: Foreign top-level keys SPEC §3 names: never mistaken for a misspelt owned key.
KNOWN_FOREIGN = frozenset({"narrative", "scene", "exit", "mood", "tree", "bootstrap_patch",
                           "meta", "tags", "text", "choices", "npcs"})


def serving_order(path: str) -> tuple[int, tuple[str, ...]]:
    """The sort key deciding which of several files with one level id serves: the
    shallowest path first, then lexicographic (by path parts). The same key in
    ``validate`` and in the service (cold start and full reload), so ``validate`` names
    the file that will serve."""
    parts = PurePath(path).parts
    return len(parts), parts


def _hint(name: str, known: Iterable[str], fallback: str | None = None) -> str | None:
    return hint_for(name, sorted(known)) or fallback


# -- one level ---------------------------------------------------------------------------


def check_level(facts: LevelFacts, rep: Reporter) -> None:
    """Report the problems inside one level (see the module docstring, layer 1)."""
    _references(facts, rep)
    _cycles(facts, rep)
    _refs(facts, rep)
    _dead_tasks(facts, rep)
    _never_started(facts, rep)
    check_texts(facts.source.data, rep)
    owned = LevelModel.model_fields
    for key in facts.foreign_keys:
        # the top level is open (other systems keep keys there), but a near miss of a
        # key the engine reads (`rule_listner`) is a typo that would drop what it holds
        if key not in KNOWN_FOREIGN and hint_for(key, owned) is not None:
            rep.unknown_key(f"/{key}", key, owned, "the level", "level")


def _references(facts: LevelFacts, rep: Reporter) -> None:
    tables: dict[str, tuple[str, Iterable[str]]] = {
        "task": ("task", facts.tasks),
        "milestone": ("milestone", facts.milestones),
        "dialogue": ("dialogue", facts.dialogues),
        "timer": ("timer", facts.timers),
    }
    # the compiler may check some of these itself: one finding per place is enough
    reported = {f.pointer for f in rep.findings if f.severity is Severity.ERROR}
    for kind, (word, known) in tables.items():
        known = set(known)
        for use in facts.uses.get(kind, ()):
            if use.name in known or use.pointer in reported:
                continue
            fallback = (f"this level defines no {word}s" if not known
                        else f"known {word}s: {', '.join(sorted(known)[:8])}")
            rep.error(use.pointer, f"{use.by} names unknown {word} '{use.name}'",
                      _hint(use.name, known, fallback), code=f"unknown_{word}")


def _cycles(facts: LevelFacts, rep: Reporter) -> None:
    """Each ``after`` cycle once, reported at the first task of the cycle in file order."""
    order = list(facts.tasks)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    reported: set[frozenset[str]] = set()

    def report(cycle: list[str]) -> None:
        key = frozenset(cycle)
        if key in reported:
            return
        reported.add(key)
        first = min(cycle, key=order.index)
        loop = cycle[cycle.index(first):] + cycle[:cycle.index(first)] + [first]
        at = next(u for u in facts.after[first] if u.name in cycle)
        rep.error(at.pointer, "'after' cycle: " + " → ".join(
            f"'{t}'" for t in loop) + " (none of these tasks can ever be issued)",
            "remove one of these 'after' entries", code="after_cycle")

    # A depth-first search with an explicit stack (a chain of 'after' as long as the
    # level's tasks must not hit the interpreter's recursion limit): one frame per task
    # on the path, holding the iterator of its remaining 'after' entries.
    for root in order:
        if root in state:
            continue
        path: list[str] = [root]
        frames = [iter(facts.after.get(root, ()))]
        state[root] = 1
        while frames:
            use = next(frames[-1], None)
            if use is None:
                frames.pop()
                state[path.pop()] = 2
                continue
            dep = use.name
            if dep not in facts.tasks:
                continue  # an unknown task: the compiler reports it
            if state.get(dep) == 1:
                report(path[path.index(dep):])
            elif dep not in state:
                state[dep] = 1
                path.append(dep)
                frames.append(iter(facts.after.get(dep, ())))


def _refs(facts: LevelFacts, rep: Reporter) -> None:
    gates = {u.name for u in facts.gates}
    activated = {u.name for u in facts.uses.get("ref_activated", ())}
    for use in facts.uses.get("ref_activated", ()):
        if use.name not in gates:
            rep.warning(use.pointer, f"activate_rule ref '{use.name}' gates no listener of "
                        "this level", _hint(use.name, gates, "give a listener this 'rule_ref', "
                                            "or remove the effect"), code="unused_ref")
    for use in facts.gates:
        if use.name not in activated:
            rep.warning(use.pointer, f"listener '{use.by}' is gated by ref '{use.name}', which "
                        "no activate_rule effect of this level activates: it never fires",
                        _hint(use.name, activated, "add an activate_rule effect with this ref"),
                        code="dormant_listener")


def _dead_tasks(facts: LevelFacts, rep: Reporter) -> None:
    named = defaultdict(set)
    for use in facts.uses.get("task_effect", ()):
        named[use.name].add(use.by)
    for task_id, pointer in facts.tasks.items():
        if task_id in facts.manual_tasks and "issue_task" not in named[task_id]:
            rep.warning(pointer, f"task '{task_id}' is manual but no issue_task effect issues "
                        "it", "add an issue_task effect, or drop \"issue\": \"manual\"",
                        code="never_issued")
        ttype = facts.task_types[task_id]
        if (ttype in BUILTIN_EVENT_TYPES or ttype in facts.event_types
                or "complete_task" in named[task_id]):
            continue
        suggestion = hint_for(ttype, sorted(BUILTIN_EVENT_TYPES))
        hint = suggestion or ("use a built-in type (" + ", ".join(sorted(BUILTIN_EVENT_TYPES))
                              + "), or complete it with a complete_task effect")
        what = "has no 'type'" if ttype == "custom" else f"has type '{ttype}'"
        fact = (" (the DriftSystem plugin never sends 'conversation' events)"
                if ttype == "conversation" else "")
        rep.warning(pointer, f"task '{task_id}' {what}: no rule event the plugin sends carries "
                    f"that type{fact} and no complete_task effect names it, so it may never "
                    "complete", hint, code="unreachable_task")


#: What starts a dialogue program or a timer: (kind of use, effect types, what to add).
_STARTERS: dict[str, tuple[frozenset[str], str]] = {
    "dialogue": (frozenset({"start_dialogue"}), "a start_dialogue effect"),
    "timer": (frozenset({"schedule_timer", "fire_timer"}), "a schedule_timer effect"),
}


def _never_started(facts: LevelFacts, rep: Reporter) -> None:
    """A dialogue or timer that no effect of the level starts (a start from inside the
    program or timer itself does not count: nothing starts it the first time)."""
    for kind, defined in (("dialogue", facts.dialogues), ("timer", facts.timers)):
        starters, what = _STARTERS[kind]
        for name in sorted(defined):
            own = join_pointer(f"/{kind}s", name)
            if any(u.name == name and u.by in starters
                   and not (u.pointer == own or u.pointer.startswith(own + "/"))
                   for u in facts.uses.get(kind, ())):
                continue
            rep.warning(own, f"{kind} '{name}' is never started: no effect of this level "
                        f"starts it", f"add {what} naming '{name}', or remove the {kind}",
                        code=f"unused_{kind}", key=True)


# -- all levels ------------------------------------------------------------------------


class Registry:
    """Every level file given to ``validate``, checked together (layer 2)."""

    def __init__(self, facts: Sequence[LevelFacts], *, strict: bool = False) -> None:
        self.facts = list(facts)
        self.strict = strict
        self._reporters: dict[str, Reporter] = {}

    def _rep(self, facts: LevelFacts) -> Reporter:
        rep = self._reporters.get(facts.file)
        if rep is None:
            rep = self._reporters[facts.file] = Reporter(facts.source, strict=self.strict)
        return rep

    def check(self) -> list[Finding]:
        self._duplicate_levels()
        self._duplicate_tasks()
        self._set_and_read("flag_set", "flag_read", "flag", "set by no set_flag effect",
                           "add a set_flag effect somewhere, or fix the name")
        self._set_and_read("var_set", "var_read", "var",
                           "set by no set_var or modify_var effect (it always reads 0)",
                           "add a set_var or modify_var effect, or fix the name")
        self._set_and_read("item_granted", "item_required", "item",
                           "granted by no gain_item effect or item reward",
                           "add a gain_item effect or an item reward, or fix the name")
        self._text_variables()
        self._levels()
        return [f for rep in self._reporters.values() for f in rep.findings]

    def _duplicate_levels(self) -> None:
        by_id: dict[str, list[LevelFacts]] = defaultdict(list)
        for facts in self.facts:
            by_id[facts.level_id].append(facts)
        for level_id, group in by_id.items():
            if len(group) < 2:
                continue
            first, *copies = sorted(group, key=lambda f: serving_order(f.file))
            for facts in copies:
                if facts.source.text == first.source.text:
                    self._rep(facts).warning(
                        "/id", f"level id '{level_id}' is also used by {first.file} (an "
                        "identical copy; that file serves and this one is refused)",
                        "delete one copy: once either is edited this is an error",
                        code="duplicate_level")
                    continue
                self._rep(facts).error(
                    "/id", f"level id '{level_id}' is also used by {first.file} (that file "
                    "serves: shallowest path first; this one is refused)",
                    "a levels folder serves one level per id: rename one or delete the "
                    "copy; the file name is the default id", code="duplicate_level")

    def _duplicate_tasks(self) -> None:
        seen: dict[str, LevelFacts] = {}
        for facts in self.facts:
            for task_id, pointer in facts.tasks.items():
                first = seen.setdefault(task_id, facts)
                if first is facts or first.level_id == facts.level_id:
                    continue
                self._rep(facts).warning(
                    f"{pointer}/id", f"task id '{task_id}' is also a task of level "
                    f"'{first.level_id}' ({first.file})", "quest logs and journals name tasks "
                    "by id: give each level's tasks their own ids", code="duplicate_task")

    def _set_and_read(self, writes: str, reads: str, word: str, message: str,
                      fallback: str) -> None:
        written = {u.name for f in self.facts for u in f.uses.get(writes, ())}
        for facts in self.facts:
            for use in facts.uses.get(reads, ()):
                if use.name not in written:
                    self._rep(facts).warning(
                        use.pointer, f"{use.by} reads {word} '{use.name}', which is {message}",
                        _hint(use.name, written, fallback), code=f"unset_{word}")

    def _text_variables(self) -> None:
        """A text variable naming a var, item or flag nothing sets is an error: it would
        always show 0 or the "no" text (a typo, most likely)."""
        sources = {"var": ("var_set", "set by no set_var or modify_var effect"),
                   "item": ("item_granted", "granted by no gain_item effect or item reward"),
                   "flag": ("flag_set", "set by no set_flag effect")}
        files = f"{len(self.facts)} level file" + ("s" if len(self.facts) != 1 else "")
        for word, (writes, what) in sources.items():
            written = {u.name for f in self.facts for u in f.uses.get(writes, ())}
            for facts in self.facts:
                for use in facts.uses.get(f"text_{word}", ()):
                    if use.name in written:
                        continue
                    rep = self._rep(facts)
                    rep.error(use.pointer, f"{use.by} names {word} '{use.name}', which is "
                              f"{what} in the {files} checked",
                              _hint(use.name, written, f"fix the name, or set the {word} "
                                    "somewhere"), code=f"unknown_text_{word}",
                              column=column_at(rep, use.pointer, use.offset))

    def _levels(self) -> None:
        known = {f.level_id for f in self.facts}
        for facts in self.facts:
            for use in facts.uses.get("level", ()):
                if use.name not in known:
                    self._rep(facts).warning(
                        use.pointer, f"{use.by} names level '{use.name}', which none of the "
                        f"{len(known)} level files checked defines",
                        _hint(use.name, known, "check the level id (the file name is the "
                              "default)"), code="unknown_level")


def registry_findings(facts: Sequence[LevelFacts], *, strict: bool = False) -> list[Finding]:
    """The cross-level findings of ``validate`` (layer 2)."""
    return Registry(facts, strict=strict).check()


__all__ = ["LevelFacts", "Registry", "Use", "check_level", "registry_findings",
           "serving_order"]
