// The funnel page: draws GET /studio/api/funnel (computed by studio/funnel.py) as tables.
"use strict";

const el = (tag, attrs = {}, ...kids) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const kid of kids) node.append(kid && kid.nodeType ? kid : String(kid ?? ""));
  return node;
};

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 120) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 7200) return `${Math.round(seconds / 6) / 10} min`;
  return `${Math.round(seconds / 360) / 10} h`;
}

function bar(value, total, cls) {
  const width = total ? Math.round((120 * value) / total) : 0;
  return el("span", { class: "bar " + (cls || ""), style: `width:${width}px` });
}

function render(report) {
  const box = document.getElementById("levels");
  box.replaceChildren();
  for (const level of report.levels) {
    const section = el("section", { class: "level", "data-level": level.level_id });
    section.append(el("h3", {}, `${level.title || level.level_id} (${level.level_id})`));
    section.append(el("div", { "data-testid": "level-counts" },
      `started ${level.started} · completed ${level.completed} · in progress ${level.in_progress}`));
    const head = el("tr", {}, ...["task", "issued", "completed", "failed", "median issue → completion", "stopped here", ""].map((h) => el("th", {}, h)));
    const rows = level.tasks.map((t) => el("tr", { "data-task": t.task_id, class: t.stopped_here ? "stuck" : "" },
      el("td", {}, t.title ? `${t.title} (${t.task_id})` : t.task_id),
      el("td", { class: "num", "data-col": "issued" }, t.issued),
      el("td", { class: "num", "data-col": "completed" }, t.completed),
      el("td", { class: "num", "data-col": "failed" }, t.failed),
      el("td", { class: "num", "data-col": "median" }, duration(t.median_seconds)),
      el("td", { class: "num", "data-col": "stopped" }, t.stopped_here),
      el("td", {}, bar(t.completed, level.started), bar(t.stopped_here, level.started, "stop"))));
    section.append(el("table", {}, head, ...rows));
    box.append(section);
  }
  if (!report.levels.length) box.append(el("p", {}, "no player has loaded a level yet"));
  document.getElementById("status").textContent = report.rebuilding
    ? `reading the journal: ${report.players_read} of ${report.players_to_read} players (counts still growing)`
    : `${report.entries} journal entries folded in`;
  if (!report.rebuilding) document.body.dataset.ready = "1";
}

async function refresh() {
  const response = await fetch("api/funnel");
  if (response.ok) render(await response.json());
}

refresh();
setInterval(refresh, 5000);
