"""The level map: one level file as a graph the studio page draws (cytoscape elements).

Built from the file's raw JSON (so a level with errors is still drawn) and the findings
``validate`` reports for it. Every element carries the JSON pointer of what it shows;
each finding is attached to the element whose pointer is the longest prefix of the
finding's pointer (the level itself when none is), so a finding is drawn on the task,
listener, dialogue node, option or timer it points at.

Elements (``data.kind``):

- ``task`` (``/tasks/N``): title, type, target; edges ``after`` (from each task it waits
  for), ``requires`` (from each task a ``task_completed`` condition names), and effect
  edges ``issue``/``complete``/``fail`` from whatever runs an ``issue_task``,
  ``complete_task`` or ``fail_task`` effect;
- ``npc`` groups (compound) holding the ``listener``s (``/rule_listeners/N``,
  ``/rules/listeners/N``) whose targets name that NPC of the scene (by id or visible
  name, colour codes ignored); other listeners sit in an ``events`` group;
- ``dialogue`` groups (``/dialogues/ID``) holding ``line``/``choice``/``end`` nodes and
  each ``option`` of a choice (gated options carry their condition); edges ``next`` and
  ``option``; ``starts`` edges from what runs a ``start_dialogue``;
- ``timer`` (``/timers/NAME``) with ``schedules``/``cancels``/``fires`` edges from what
  runs the matching effect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from quest_runtime.levels.findings import Finding, escape_pointer_token

_COLOUR = re.compile(r"§[0-9a-fk-orx]", re.IGNORECASE)
_EFFECT_EDGES = {"issue_task": ("task", "issue"), "complete_task": ("task", "complete"),
                 "fail_task": ("task", "fail"), "start_dialogue": ("dialogue", "starts"),
                 "schedule_timer": ("timer", "schedules"), "cancel_timer": ("timer", "cancels"),
                 "fire_timer": ("timer", "fires")}


def plain(text: Any) -> str:
    """A name as the player reads it: colour codes removed."""
    return _COLOUR.sub("", str(text)) if text is not None else ""


def condition_text(cond: Any) -> str:
    """A condition in a few words: ``var_at_least(var=courage, value=1)``."""
    if not isinstance(cond, dict):
        return str(cond)
    kind = str(cond.get("type", "?"))
    if kind in ("all_of", "any_of") and isinstance(cond.get("conditions"), list):
        joiner = " and " if kind == "all_of" else " or "
        return "(" + joiner.join(condition_text(c) for c in cond["conditions"]) + ")"
    if kind == "not" and "condition" in cond:
        return "not " + condition_text(cond["condition"])
    args = ", ".join(f"{k}={v}" for k, v in cond.items() if k != "type")
    return f"{kind}({args})"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _walk_conditions(cond: Any) -> Iterator[dict[str, Any]]:
    if isinstance(cond, dict):
        yield cond
        for value in cond.values():
            if isinstance(value, dict | list):
                yield from _walk_conditions(value)
    elif isinstance(cond, list):
        for item in cond:
            yield from _walk_conditions(item)


def _walk_effects(effects: Any) -> Iterator[dict[str, Any]]:
    """Every effect of a list, the branches of ``if`` included."""
    if not isinstance(effects, list):
        return
    for effect in effects:
        if not isinstance(effect, dict):
            continue
        yield effect
        for branch in ("then", "else"):
            yield from _walk_effects(effect.get(branch))


@dataclass
class LevelMap:
    """The elements of one level file and where its findings landed."""

    file: str
    level_id: str | None
    title: str | None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    level_findings: list[dict[str, Any]] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set)
    _edge_ids: set[str] = field(default_factory=set)

    def node(self, ident: str, kind: str, label: str, pointer: str,
             parent: str | None = None, **extra: Any) -> str:
        data: dict[str, Any] = {"id": ident, "kind": kind, "label": label,
                                "pointer": pointer, "findings": [], **extra}
        if parent is not None:
            data["parent"] = parent
        self.nodes.append({"data": data})
        self._ids.add(ident)
        return ident

    def edge(self, source: str, target: str, kind: str, label: str = "",
             pointer: str = "") -> None:
        ident = base = f"edge:{kind}:{source}->{target}@{pointer}"  # stable across saves
        n = 1
        while ident in self._edge_ids:
            n += 1
            ident = f"{base}#{n}"
        self._edge_ids.add(ident)
        self.edges.append({"data": {"id": ident, "source": source, "target": target,
                                    "kind": kind, "label": label or kind,
                                    "pointer": pointer, "findings": []}})

    def drawn_edges(self) -> list[dict[str, Any]]:
        """The edges whose two ends are drawn (a reference to nothing draws no edge: its
        finding goes to the element holding the reference)."""
        return [e for e in self.edges
                if e["data"]["source"] in self._ids and e["data"]["target"] in self._ids]

    def to_dict(self) -> dict[str, Any]:
        edges = self.drawn_edges()
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n["data"]["kind"]] = counts.get(n["data"]["kind"], 0) + 1
        return {"file": self.file, "level_id": self.level_id, "title": self.title,
                "elements": {"nodes": self.nodes, "edges": edges}, "counts": counts,
                "level_findings": self.level_findings}

    def attach(self, findings: Iterable[Finding]) -> None:
        """Each finding on the element with the longest pointer prefix of its pointer."""
        by_pointer: dict[str, dict[str, Any]] = {}
        for element in self.nodes + self.drawn_edges():
            pointer = element["data"]["pointer"]
            if pointer and pointer not in by_pointer:
                by_pointer[pointer] = element["data"]
        for finding in findings:
            shown = {**finding.to_dict(), "where": f"{finding.file}:{finding.line}:"
                     f"{finding.column}", "text": finding.format()}
            target = _owner(by_pointer, finding.pointer)
            if target is None:
                self.level_findings.append(shown)
            else:
                target["findings"].append(shown)
                target["worst"] = ("error" if finding.severity.value == "error"
                                   or target.get("worst") == "error" else "warning")


def _owner(by_pointer: dict[str, dict[str, Any]], pointer: str) -> dict[str, Any] | None:
    probe = pointer
    while probe:
        if probe in by_pointer:
            return by_pointer[probe]
        probe = probe.rpartition("/")[0]
    return None


def _ptr(*parts: str | int) -> str:
    return "".join("/" + escape_pointer_token(str(p)) for p in parts)


def build_map(file: str, doc: Any, findings: Iterable[Finding] = ()) -> dict[str, Any]:
    """The map of one level file (``doc`` is its parsed JSON; anything else gives an
    empty map that still carries the findings)."""
    if not isinstance(doc, dict):
        m = LevelMap(file, None, None)
        m.attach(findings)
        return m.to_dict()
    m = LevelMap(file, str(doc.get("id")) if doc.get("id") else None,
                 plain(doc.get("title")) if doc.get("title") else None)
    effect_sources: list[tuple[str, str, Any]] = []  # (element id, pointer, effects)
    tasks = as_list(doc.get("tasks"))
    task_ids = _tasks(m, tasks, effect_sources)
    _task_edges(m, tasks, task_ids)
    _listeners(m, doc, effect_sources)
    _dialogues(m, doc, effect_sources)
    _timers(m, doc, effect_sources)
    _effect_edges(m, effect_sources, task_ids)
    m.attach(findings)
    return m.to_dict()


def _tasks(m: LevelMap, tasks: list[Any],
           effect_sources: list[tuple[str, str, Any]]) -> dict[str, str]:
    """A node per task; the task id -> node id of each (the first task with an id)."""
    task_ids: dict[str, str] = {}
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            continue
        tid = str(task.get("id") or f"#{i}")
        ident = f"task:{tid}"
        if ident in m._ids:
            ident = f"task:{tid}#{i}"
        task_ids.setdefault(tid, ident)
        target = task.get("target")
        target_text = plain(target.get("name") if isinstance(target, dict) else target)
        flags = [flag for flag, on in (("repeatable", task.get("repeatable")),
                                       ("manual", task.get("issue") == "manual"),
                                       ("timed", task.get("time_limit_seconds"))) if on]
        m.node(ident, "task", plain(task.get("title") or tid), _ptr("tasks", i),
               task_id=tid, type=str(task.get("type", "custom")), target=target_text,
               flags=flags, requires=(condition_text(task["requires"])
                                      if task.get("requires") is not None else None),
               milestones=len(task["milestones"]) if isinstance(task.get("milestones"),
                                                                list) else 0)
        for key in ("on_complete", "on_fail"):
            effect_sources.append((ident, _ptr("tasks", i, key), task.get(key)))
    return task_ids


def _task_edges(m: LevelMap, tasks: list[Any], task_ids: dict[str, str]) -> None:
    """The ``after`` and ``requires: task_completed`` edges between tasks."""
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            continue
        ident = task_ids.get(str(task.get("id") or f"#{i}"), "")
        after = as_list(task.get("after"))
        for k, before in enumerate(after):
            if isinstance(before, str) and before in task_ids:
                m.edge(task_ids[before], ident, "after", "after", _ptr("tasks", i, "after", k))
        for cond in _walk_conditions(task.get("requires")):
            if cond.get("type") == "task_completed" and str(cond.get("task")) in task_ids:
                m.edge(task_ids[str(cond["task"])], ident, "requires", "requires",
                       _ptr("tasks", i, "requires"))


def _timers(m: LevelMap, doc: dict[str, Any],
            effect_sources: list[tuple[str, str, Any]]) -> None:
    """A node per timer."""
    timers = as_dict(doc.get("timers"))
    for name, timer in timers.items():
        if not isinstance(timer, dict):
            continue
        delay = timer.get("delay_seconds", 0)
        repeat = timer.get("repeat_seconds")
        label = f"timer {name} ({delay} s" + (f", every {repeat} s)" if repeat else ")")
        ident = m.node(f"timer:{name}", "timer", label, _ptr("timers", name), timer=name)
        effect_sources.append((ident, _ptr("timers", name, "effects"), timer.get("effects")))


def _effect_edges(m: LevelMap, effect_sources: list[tuple[str, str, Any]],
                  task_ids: dict[str, str]) -> None:
    """An edge from each element to the task, dialogue or timer its effects name."""
    for source, pointer, effects in effect_sources:
        for effect in _walk_effects(effects):
            found = _EFFECT_EDGES.get(str(effect.get("type")))
            if found is None:
                continue
            kind, edge = found
            arg = effect.get(kind)
            if kind == "task":
                target = task_ids.get(str(arg))
            elif kind == "dialogue":
                target = f"dialogue:{arg}"
            else:
                target = f"timer:{arg}"
            if target is not None:
                m.edge(source, target, edge, edge, pointer)


def _listeners(m: LevelMap, doc: dict[str, Any],
               effect_sources: list[tuple[str, str, Any]]) -> None:
    scene = as_dict(doc.get("scene"))
    npcs = as_list(scene.get("npcs"))
    npc_names: dict[str, str] = {}  # a token that names an NPC -> its group id
    for k, npc in enumerate(npcs):
        if not isinstance(npc, dict):
            continue
        nid = str(npc.get("id") or npc.get("name") or k)
        name = plain(npc.get("name") or nid)
        group = m.node(f"npc:{nid}", "npc", f"{name} ({nid})", _ptr("scene", "npcs", k),
                       npc=nid, name=name)
        for token in (nid, name):
            npc_names[token.lower()] = group
    sources: list[tuple[str, Any]] = []
    if isinstance(doc.get("rule_listeners"), list):
        sources += [(_ptr("rule_listeners", i), li)
                    for i, li in enumerate(doc["rule_listeners"])]
    rules = doc.get("rules")
    if isinstance(rules, dict) and isinstance(rules.get("listeners"), list):
        sources += [(_ptr("rules", "listeners", i), li)
                    for i, li in enumerate(rules["listeners"])]
    other: str | None = None
    for pointer, li in sources:
        if not isinstance(li, dict):
            continue
        meta = as_dict(li.get("metadata"))
        lid = str(li.get("id") or meta.get("id") or pointer)
        targets = [plain(t) for t in li.get("targets", []) if isinstance(t, str)] \
            if isinstance(li.get("targets"), list) else []
        found = next((npc_names[t.lower()] for t in targets if t.lower() in npc_names), None)
        if found is None:
            if other is None:
                other = m.node("npc:*", "npc", "other events", "", npc="*", name="")
            found = other
        group = found
        gate = li.get("rule_ref") or meta.get("rule_ref") or meta.get("ref")
        ident = m.node(f"listener:{lid}", "listener", lid, pointer, parent=group,
                       listener_id=lid, type=str(li.get("type", "")), targets=targets,
                       gate=gate, once=bool(li.get("once")),
                       requires=(condition_text(li["requires"])
                                 if li.get("requires") is not None else None))
        effect_sources.append((ident, pointer + "/effects", li.get("effects")))


def _dialogues(m: LevelMap, doc: dict[str, Any],
               effect_sources: list[tuple[str, str, Any]]) -> None:
    dialogues = as_dict(doc.get("dialogues"))
    for did, program in dialogues.items():
        if not isinstance(program, dict):
            continue
        base = _ptr("dialogues", did)
        group = m.node(f"dialogue:{did}", "dialogue",
                       f"dialogue {did}" + (f" — {plain(program['npc'])}" if program.get("npc")
                                     else ""), base, dialogue=did)
        nodes = as_dict(program.get("nodes"))
        entry = program.get("entry")
        for nid, node in nodes.items():
            if not isinstance(node, dict):
                continue
            kind = str(node.get("type", "line"))
            text = node.get("text")
            text = " / ".join(map(str, text)) if isinstance(text, list) else str(text or "")
            ident = m.node(f"dnode:{did}:{nid}", kind if kind in ("line", "choice", "end")
                           else "line", f"{nid}: {plain(text)}" if text else nid,
                           base + _ptr("nodes", nid), parent=group, dialogue=did, node=nid,
                           entry=nid == entry)
            effect_sources.append((ident, base + _ptr("nodes", nid, "effects"),
                                   node.get("effects")))
            if isinstance(node.get("next"), str):
                m.edge(ident, f"dnode:{did}:{node['next']}", "next", "next",
                       base + _ptr("nodes", nid, "next"))
            options = as_list(node.get("options"))
            for k, option in enumerate(options):
                if not isinstance(option, dict):
                    continue
                oid = str(option.get("id") or k + 1)
                pointer = base + _ptr("nodes", nid, "options", k)
                gate = option.get("requires")
                oident = m.node(f"dopt:{did}:{nid}:{oid}", "option",
                                f"{k + 1}. {plain(option.get('text', oid))}", pointer,
                                parent=group, dialogue=did, node=nid, option=oid,
                                gated=gate is not None,
                                requires=condition_text(gate) if gate is not None else None)
                m.edge(ident, oident, "option", "gated: " + condition_text(gate)
                       if gate is not None else "option", pointer)
                if isinstance(option.get("next"), str):
                    m.edge(oident, f"dnode:{did}:{option['next']}", "next", "next",
                           pointer + "/next")
                effect_sources.append((oident, pointer + "/effects", option.get("effects")))
