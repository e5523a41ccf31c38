// Quest Studio page: a thin renderer. Every decision (what the map holds, where a finding
// lands, what the plugin shows) is made by the Python side; this file draws its JSON.
"use strict";

const studio = (window.studio = { cy: null, file: null, generation: 0, map: null,
  selected: null, player: "Steve", lastEntry: null, mapReady: false });

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v);
  }
  for (const kid of kids) node.append(kid && kid.nodeType ? kid : String(kid ?? ""));
  return node;
};

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json" } };
  const response = await fetch(path, init);
  const text = await response.text();
  let data = text;
  try { data = JSON.parse(text); } catch (e) { /* plain text */ }
  if (!response.ok) throw new Error(data && data.error ? data.error.message : text);
  return data;
}

function status(text) { $("status").textContent = text; }

// -- views ---------------------------------------------------------------------------
function showView() {
  const name = location.hash === "#play" ? "play" : "map";
  for (const v of ["map", "play"]) {
    $("view-" + v).classList.toggle("on", v === name);
    $("tab-" + v).classList.toggle("on", v === name);
  }
  if (name === "map" && studio.cy) studio.cy.resize();
}
window.addEventListener("hashchange", showView);

// -- the level map -------------------------------------------------------------------
const STYLE = [
  { selector: "node", style: { label: "data(display)", "text-wrap": "wrap", "text-max-width": 160,
    "font-size": 10, "text-valign": "center", "text-halign": "center", width: "label", height: "label",
    padding: 8, shape: "round-rectangle", "background-color": "#e2e8f0", "border-width": 1,
    "border-color": "#a0aec0" } },
  { selector: 'node[kind="task"]', style: { "background-color": "#bee3f8", "border-color": "#2b6cb0" } },
  { selector: 'node[kind="listener"]', style: { "background-color": "#fefcbf", "border-color": "#b7791f" } },
  { selector: 'node[kind="npc"]', style: { "background-color": "#fffff0", "text-valign": "top", "font-weight": "bold" } },
  { selector: 'node[kind="dialogue"]', style: { "background-color": "#faf5ff", "text-valign": "top", "font-weight": "bold", "border-color": "#805ad5" } },
  { selector: 'node[kind="line"]', style: { "background-color": "#e9d8fd" } },
  { selector: 'node[kind="choice"]', style: { "background-color": "#fbd38d", shape: "diamond", padding: 14 } },
  { selector: 'node[kind="option"]', style: { "background-color": "#feebc8" } },
  { selector: "node[?gated]", style: { "border-style": "dashed", "border-width": 2, "border-color": "#975a16" } },
  { selector: 'node[kind="end"]', style: { shape: "ellipse", "background-color": "#cbd5e0" } },
  { selector: 'node[kind="timer"]', style: { "background-color": "#c6f6d5", shape: "tag" } },
  { selector: "node[?entry]", style: { "border-width": 3, "border-color": "#553c9a" } },
  { selector: 'node[worst="warning"]', style: { "border-width": 4, "border-color": "#dd6b20" } },
  { selector: 'node[worst="error"]', style: { "border-width": 5, "border-color": "#e53e3e", "background-color": "#fed7d7" } },
  { selector: "node:selected", style: { "overlay-color": "#3182ce", "overlay-opacity": 0.25 } },
  { selector: "edge", style: { width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle",
    "line-color": "#718096", "target-arrow-color": "#718096", label: "data(label)", "font-size": 8,
    "text-rotation": "autorotate", color: "#4a5568" } },
  { selector: 'edge[kind="after"]', style: { label: "" } },
  { selector: 'edge[kind="requires"]', style: { "line-style": "dashed", "line-color": "#4a5568" } },
  { selector: 'edge[kind="issue"]', style: { "line-color": "#38a169", "target-arrow-color": "#38a169" } },
  { selector: 'edge[kind="complete"]', style: { "line-color": "#3182ce", "target-arrow-color": "#3182ce" } },
  { selector: 'edge[kind="fail"]', style: { "line-color": "#e53e3e", "target-arrow-color": "#e53e3e" } },
  { selector: 'edge[kind="starts"], edge[kind="schedules"], edge[kind="cancels"], edge[kind="fires"]',
    style: { "line-style": "dotted", "line-color": "#805ad5", "target-arrow-color": "#805ad5", width: 2 } },
  { selector: 'edge[kind="option"]', style: { "line-color": "#dd6b20", "target-arrow-color": "#dd6b20", label: "" } },
  { selector: 'edge[kind="next"]', style: { label: "" } },
];

function display(data) {
  const n = data.findings.length;
  let text = data.label;
  if (data.kind === "task") text = `${data.label}\n[${data.type}${data.target ? " " + data.target : ""}]`;
  if (data.kind === "listener") text = `${data.label}\n[${data.type}]${data.gate ? "\ngated by ref " + data.gate : ""}`;
  if (data.kind === "option" && data.requires) text = `${data.label}\nonly if ${data.requires}`;
  return n ? `${text}\n⚠ ${n} finding${n > 1 ? "s" : ""}` : text;
}

function elementsOf(map) {
  const nodes = map.elements.nodes.map((n) => ({ data: { ...n.data, display: display(n.data) } }));
  return { nodes, edges: map.elements.edges };
}

const BIG = 400;  // nodes: past this, dagre's crossing reduction takes seconds

function layout(cy) {
  const started = performance.now();
  if (cy.nodes().length > BIG) {
    cy.layout({ name: "breadthfirst", directed: true, spacingFactor: 0.8, animate: false,
      fit: true, avoidOverlap: true }).run();
  } else {
    cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 20, rankSep: 50, animate: false,
      fit: true }).run();
  }
  studio.layoutMs = performance.now() - started;
}

function renderMap(map, keepView) {
  studio.map = map;
  const cy = studio.cy;
  const wanted = elementsOf(map);
  let fresh = 0;
  if (!keepView) {
    cy.batch(() => { cy.elements().remove(); cy.add(wanted); });
  } else {
    // patch in place, by id: kept elements keep their position and selection
    const ids = new Set();
    cy.batch(() => {
      for (const group of ["nodes", "edges"]) {
        for (const item of wanted[group]) {
          ids.add(item.data.id);
          const found = cy.getElementById(item.data.id);
          const parentChanged = found.nonempty() && group === "nodes"
            && (found.data("parent") || null) !== (item.data.parent || null);
          if (found.nonempty() && !parentChanged && (group === "nodes"
              || (found.data("source") === item.data.source && found.data("target") === item.data.target))) {
            for (const key of Object.keys(found.data())) if (!(key in item.data)) found.removeData(key);
            found.data(item.data);
          } else {
            if (found.nonempty()) found.remove();
            cy.add({ group, data: item.data });
            if (group === "nodes") fresh += 1;
          }
        }
      }
      cy.elements().filter((e) => !ids.has(e.id())).remove();
    });
  }
  if (!keepView || fresh) {
    const view = keepView ? { zoom: cy.zoom(), pan: { ...cy.pan() } } : null;
    layout(cy);
    if (view) { cy.zoom(view.zoom); cy.pan(view.pan); }
  }
  if (studio.selected) {
    const sel = cy.getElementById(studio.selected);
    if (sel.nonempty()) { sel.select(); showSelected(sel.data()); }
  }
  renderSide(map);
  studio.mapReady = true;
  document.body.dataset.generation = String(studio.generation);
}

function findingItem(f) {
  return el("li", { class: f.severity + " finding", "data-pointer": f.pointer }, `${f.where}: ${f.severity}: ${f.message}` +
    (f.hint ? ` (${f.hint})` : "") + ` [${f.pointer || "/"}]`);
}

function renderSide(map) {
  const all = [...map.level_findings];
  const outline = $("outline");
  outline.replaceChildren();
  const groups = { task: "Tasks", npc: "Listeners by NPC", dialogue: "Dialogues", timer: "Timers" };
  const byKind = {};
  for (const n of map.elements.nodes) {
    all.push(...n.data.findings);
    (byKind[n.data.kind] = byKind[n.data.kind] || []).push(n.data);
  }
  for (const e of map.elements.edges) all.push(...e.data.findings);
  const children = (parent) => map.elements.nodes.filter((n) => n.data.parent === parent).map((n) => n.data);
  for (const [kind, title] of Object.entries(groups)) {
    const items = byKind[kind] || [];
    const ul = el("ul", { "data-group": kind });
    for (const d of items) {
      const li = outlineItem(d);
      const kids = children(d.id);
      if (kids.length) li.append(el("ul", {}, ...kids.map(outlineItem)));
      ul.append(li);
    }
    outline.append(el("li", {}, `${title} (${items.length})`, ul));
  }
  const list = $("level-findings");
  list.replaceChildren(...map.level_findings.map(findingItem));
  $("finding-count").textContent = `(${all.length}: ${map.errors} errors, ${map.warnings} warnings)`;
}

function outlineItem(d) {
  const cls = d.worst ? "has-" + d.worst : "";
  const li = el("li", { class: cls, "data-id": d.id, "data-kind": d.kind }, d.label);
  li.addEventListener("click", (ev) => { ev.stopPropagation(); select(d.id, true); });
  if (d.findings.length) li.append(el("ul", {}, ...d.findings.map(findingItem)));
  return li;
}

function select(id, center) {
  const cy = studio.cy;
  const target = cy.getElementById(id);
  if (target.empty()) return;
  cy.elements().unselect();
  target.select();
  if (center) cy.animate({ center: { eles: target }, duration: 200 });
  showSelected(target.data());
}

function showSelected(d) {
  studio.selected = d.id;
  const rows = Object.entries(d).filter(([k, v]) => !["findings", "display", "id", "worst"].includes(k)
    && v !== null && v !== "" && !(Array.isArray(v) && !v.length));
  const box = $("selected");
  box.replaceChildren(el("table", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", {}, k),
    el("td", {}, typeof v === "object" ? JSON.stringify(v) : v)))));
  if (d.findings.length) box.append(el("ul", {}, ...d.findings.map(findingItem)));
}

async function loadMap(keepView) {
  if (!studio.file) return;
  const map = await api("/api/map?file=" + encodeURIComponent(studio.file));
  studio.generation = map.generation;
  renderMap(map, keepView);
  status(`${map.level_id || map.file} · generation ${map.generation} · ${map.errors} errors`);
}

async function loadLevels(keep) {
  const summary = await api("/api/levels");
  const select = $("file");
  const previous = studio.file;
  select.replaceChildren(...summary.files.map((f) => el("option", { value: f.file },
    `${f.level_id || f.file}${f.errors ? " ⚠" : ""}`)));
  const levelSelect = $("sim-level");
  const previousLevel = levelSelect.value;
  levelSelect.replaceChildren(...summary.files.filter((f) => f.level_id && f.serving)
    .map((f) => el("option", { value: f.level_id }, f.level_id)));
  if (previousLevel) levelSelect.value = previousLevel;
  if (keep && previous && summary.files.some((f) => f.file === previous)) studio.file = previous;
  else studio.file = summary.files.length ? summary.files[0].file : null;
  select.value = studio.file || "";
  return summary;
}

async function watchChanges() {
  for (;;) {
    try {
      const { generation } = await api("/api/changes?since=" + studio.generation);
      if (generation > studio.generation) {
        await loadLevels(true);
        await loadMap(true);
        await loadPalette();
      }
    } catch (e) {
      status("studio unreachable: " + e.message);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

// -- the simulator -------------------------------------------------------------------
function player() { return $("player").value.trim(); }

function rememberPlayer(name) {
  const list = $("players");
  if (name && ![...list.options].some((o) => o.value === name)) list.append(el("option", { value: name }));
}

async function act(action) {
  rememberPlayer(player());
  try {
    const entry = await api("/api/sim/act", { player: player(), ...action });
    studio.lastEntry = entry;
    renderEntry(entry);
    renderExplain(entry.explain);
  } catch (e) {
    $("feed").prepend(el("div", { class: "card err", "data-testid": "refused" }, "refused: " + e.message));
  }
  await refreshPlayer();
  studio.acts = (studio.acts || 0) + 1;  // one action fully shown (tests wait on it)
}

function renderEntry(entry) {
  const card = el("div", { class: "card", "data-testid": "entry", "data-n": entry.n });
  card.append(el("div", { class: "what" }, `#${entry.n} · t=${entry.clock} s · ${entry.what}`));
  if (entry.error) card.append(el("div", { class: "err" }, `refused: ${entry.error.code} — ${entry.error.message}`));
  for (const shown of entry.shown) {
    if (entry.shown.length > 1 || shown.player !== player()) card.append(el("div", { class: "meta" }, `to ${shown.player}:`));
    for (const t of shown.titles) {
      card.append(el("div", { class: "title", "data-testid": "title" }, t.main.replace(/§./g, "")));
      if (t.sub) card.append(el("div", { class: "subtitle" }, t.sub.replace(/§./g, "")));
    }
    for (const a of shown.actionbar) card.append(el("div", { class: "actionbar", "data-testid": "actionbar" }, a));
    const chat = el("div", { class: "chat", "data-testid": "chat-lines" });
    const dialogue = new Set(shown.dialogue_lines.map((l) => "❝ " + l));
    for (const line of shown.chat) chat.append(el("div", { class: dialogue.has(line) ? "dialogue" : "" }, line));
    card.append(chat);
    if (shown.commands.length) card.append(el("div", { class: "meta", "data-testid": "commands" }, "console: " + shown.commands.join(" · ")));
    if (shown.applied.length) card.append(el("div", { class: "meta", "data-testid": "patch" }, "world patch: " +
      shown.applied.map((a) => a.op + (typeof a.value === "object" ? " " + JSON.stringify(a.value) : " " + a.value)).join(" · ")));
    for (const d of shown.dropped) card.append(el("div", { class: "dropped" }, "dropped by the plugin: " + d));
    for (const d of shown.errors) card.append(el("div", { class: "err" }, "the plugin would throw: " + d));
    if (shown.exit_ready) card.append(el("div", { class: "meta", "data-testid": "exit-ready" }, "exit_ready"));
  }
  for (const f of entry.ensures_failures || []) card.append(el("div", { class: "err" }, `ensures failed: ${f.what}: ${f.condition}`));
  $("feed").prepend(card);
}

function renderExplain(explain) {
  const box = $("explain");
  box.replaceChildren();
  if (!explain) { box.append("(no rule event)"); return; }
  box.append(el("div", { class: "why" }, "atoms: " + explain.atoms.map((a) => a.join(":")).join(", ")));
  for (const [k, v] of Object.entries(explain.fired || {})) if (v.length) box.append(el("div", { class: "why" }, `${k}: ${v.join(", ")}`));
  if (explain.note) box.append(el("div", { class: "why" }, explain.note));
  const talk = explain.dialogue;
  if (talk) {
    box.append(el("div", { class: "why", "data-testid": "dialogue-why" },
      el("b", {}, `dialogue ${talk.dialogue_id} · ${talk.node_id}`), ` ${talk.answer}: ${talk.message}`));
    for (const h of talk.hidden || []) {
      box.append(el("div", { class: "why", "data-testid": "hidden-option" }, `option ${h.option} “${h.label}” hidden: ${h.condition}`));
    }
  }
  // the near misses first (right event, wrong target, not issued, gated, ...); the rest
  // (they listen for another event type) in one line
  const other = explain.not_fired.filter((n) => n.reason === "type");
  for (const n of explain.not_fired.filter((n) => n.reason !== "type")) {
    box.append(el("div", { class: "why", "data-testid": "not-fired" }, el("b", {}, `${n.kind} ${n.id}`), ` ${n.reason}: ${n.message}`));
  }
  if (other.length) {
    box.append(el("div", { class: "why meta", "data-testid": "other-types" },
      `${other.length} more listen for other event types: ${other.map((n) => n.id).join(", ")}`));
  }
}

function renderState(view) {
  const box = $("state-view");
  box.replaceChildren();
  $("clock").textContent = `${view.clock} s`;
  const panel = $("choice-panel");
  panel.replaceChildren();
  if (view.choice) {
    const div = el("div", { class: "panel", "data-testid": "choice" }, el("div", {}, view.choice.prompt));
    for (const o of view.choice.options) {
      div.append(el("button", { "data-testid": "option", "data-option": o.id, onclick: () => act({ action: "choose", index: o.index }) },
        `[${o.index}] ${o.label}`));
    }
    panel.append(div);
  }
  const state = view.state;
  if (!state) { box.append("(no state yet: load a level)"); return; }
  const session = state.session;
  if (session) {
    box.append(el("div", {}, `level ${session.level_id}` + (view.state.exit_ready ? " · exit_ready" : "")));
    const rows = Object.entries(session.tasks || {}).map(([id, t]) => el("tr", { "data-task": id },
      el("td", {}, id), el("td", { class: "status-" + t.status, "data-testid": "task-status" }, t.status),
      el("td", {}, `${t.progress}${Object.keys(t.milestones).length ? " " + JSON.stringify(t.milestones) : ""}`)));
    box.append(el("table", { "data-testid": "tasks" }, el("tr", {}, el("th", {}, "task"), el("th", {}, "status"), el("th", {}, "progress")), ...rows));
  }
  const section = (title, value) => {
    const empty = value === undefined || value === null || (typeof value === "object" && !Object.keys(value).length);
    box.append(el("div", { "data-testid": "state-" + title }, el("b", {}, title + ": "), empty ? "—" : JSON.stringify(value)));
  };
  section("flags", state.flags);
  section("vars", state.vars);
  section("items", state.items);
  if (session) {
    section("timers", session.timers);
    section("dialogue stack", session.dialogue);
    section("refs", session.refs);
  }
}

async function refreshPlayer() {
  if (!player()) return;
  renderState(await api("/api/sim/player?player=" + encodeURIComponent(player())));
}

async function loadPalette() {
  const level = $("sim-level").value;
  if (!level) return;
  const p = await api("/api/palette?level=" + encodeURIComponent(level));
  const button = (label, testid, action) => el("button", { "data-testid": testid, onclick: () => act(action) }, label);
  $("npcs").replaceChildren(...p.npcs.flatMap((n) => [
    button(`Walk near ${n.name.replace(/§./g, "")}`, "near-" + n.id, { action: "near", npc: n.name, location: n.location }),
    button(`Right-click ${n.name.replace(/§./g, "")}`, "click-" + n.id, { action: "entity", entity_type: n.entity_type, name: n.name, location: n.location }),
  ]));
  $("blocks").replaceChildren(...p.blocks.map((b) => button(b, "block-" + b, { action: "block", block: b })));
  $("quest-events").replaceChildren(...p.quest_events.map((q) => button(q, "event-" + q, { action: "quest_event", event: q })));
  $("chat-hints").replaceChildren(...p.chat.map((c) => el("span", { class: "meta" }, `“${c}” `)));
}

function wireSimulator() {
  $("load").addEventListener("click", () => act({ action: "load", level: $("sim-level").value }));
  $("end").addEventListener("click", () => act({ action: "end" }));
  $("block-go").addEventListener("click", () => act({ action: "block", block: $("block-other").value }));
  $("entity-go").addEventListener("click", () => act({ action: "entity", entity_type: $("entity-type").value, name: $("entity-name").value }));
  $("chat-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("chat").value;
    $("chat").value = "";
    act({ action: "chat", text });
  });
  $("advance").addEventListener("click", () => act({ action: "advance", seconds: Number($("advance-seconds").value) }));
  $("save").addEventListener("click", async () => {
    try {
      const saved = await api("/api/sim/save", { name: $("scenario-name").value });
      $("saved").textContent = `saved ${saved.steps} steps to ${saved.saved}`;
    } catch (e) { $("saved").textContent = "not saved: " + e.message; }
  });
  $("reset").addEventListener("click", async () => {
    await api("/api/sim/reset", {});
    $("feed").replaceChildren();
    $("explain").replaceChildren();
    await refreshPlayer();
  });
  $("sim-level").addEventListener("change", loadPalette);
  $("player").addEventListener("change", refreshPlayer);
}

async function start() {
  showView();
  studio.cy = cytoscape({ container: $("cy"), style: STYLE, wheelSensitivity: 0.3, minZoom: 0.02 });
  studio.cy.on("tap", "node, edge", (ev) => showSelected(ev.target.data()));
  $("file").addEventListener("change", () => { studio.file = $("file").value; studio.selected = null; loadMap(false); });
  wireSimulator();
  const t0 = performance.now();
  await loadLevels(false);
  await loadMap(false);
  studio.firstRenderMs = performance.now() - t0;
  await loadPalette();
  await refreshPlayer();
  watchChanges();
}

start();
