// The level JSON Schema as VS Code uses it: completions and diagnostics from the
// vscode-json-languageservice package (the engine of VS Code's JSON support), run over
// small level documents. Prints one JSON line per case ({name, ok, detail}) and exits 1
// when any case fails. Usage: node editor_check.js [path/to/level.schema.json]
"use strict";
const fs = require("fs");
const path = require("path");
const ls = require("vscode-json-languageservice");

const schemaPath = process.argv[2] ||
  path.join(__dirname, "..", "..", "docs", "schema", "level.schema.json");
const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
const SCHEMA_URI = "file:///level.schema.json";
const service = ls.getLanguageService({});
service.configure({
  validate: true, allowComments: false,
  schemas: [{ uri: SCHEMA_URI, fileMatch: ["*.json"], schema }],
});

let n = 0;
function doc(text) {
  n += 1;
  const d = ls.TextDocument.create(`file:///level_${n}.json`, "json", 1, text);
  return [d, service.parseJSONDocument(d)];
}

// `|` marks the cursor.
async function labels(textWithCursor) {
  const offset = textWithCursor.indexOf("|");
  const text = textWithCursor.slice(0, offset) + textWithCursor.slice(offset + 1);
  const [d, json] = doc(text);
  const list = await service.doComplete(d, d.positionAt(offset), json);
  return list.items.map((i) => i.label);
}

async function diagnostics(text) {
  const [d, json] = doc(text);
  const found = await service.doValidation(d, json);
  return found.map((x) => ({ message: x.message, start: d.offsetAt(x.range.start),
                             end: d.offsetAt(x.range.end), line: x.range.start.line + 1,
                             column: x.range.start.character + 1 }));
}

const results = [];
function report(name, ok, detail) {
  results.push({ name, ok, detail });
}

async function completes(name, text, expected) {
  const got = await labels(text);
  const missing = expected.filter((e) => !got.includes(e));
  report(name, missing.length === 0, { missing, got });
}

// A diagnostic must start at the first occurrence of `at` after `after` in the text
// (and, with `says`, its message must contain that text).
async function squiggles(name, text, at, after = "", says = "") {
  const start = text.indexOf(at, text.indexOf(after) + after.length);
  const got = await diagnostics(text);
  const hit = got.find((g) => g.start === start && g.message.includes(says));
  report(name, hit !== undefined, { at, start, says, got });
}

async function isClean(name, text) {
  const got = await diagnostics(text);
  report(name, got.length === 0, { got });
}

const TASK = '{"id": "t", "type": "near", "target": "mia"';

async function main() {
  // completions
  await completes("effect fields after type set_flag",
    `{"tasks": [${TASK}, "on_complete": [{"type": "set_flag", |}]}]}`, ['flag']);
  await completes("effect types in on_complete",
    `{"tasks": [${TASK}, "on_complete": [{"type": |}]}]}`,
    ['"set_flag"', '"start_dialogue"', '"if"', '"say"']);
  await completes("condition fields inside all_of",
    `{"tasks": [${TASK}, "requires": {"type": "all_of", "conditions": [{"type": "has_item", |}]}}]}`,
    ["item", "count"]);
  await completes("condition types inside all_of inside not",
    `{"tasks": [${TASK}, "requires": {"type": "not", "condition": {"type": "all_of", "conditions": [{"type": |}]}}}]}`,
    ['"flag_set"', '"var_at_least"', '"any_of"']);
  await completes("effect fields inside if/then",
    `{"rule_listeners": [{"id": "l", "effects": [{"type": "if", "condition": {"type": "flag_set", "flag": "x"}, "then": [{"type": "gain_item", |}]}]}]}`,
    ["item", "count"]);
  await completes("dialogue program keys under dialogues",
    `{"dialogues": {"d": {|}}}`, ["nodes", "entry", "npc"]);
  await completes("node types under dialogues",
    `{"dialogues": {"d": {"nodes": {"a": {"type": |}}}}}`, ['"line"', '"choice"', '"end"']);
  await completes("choice node keys",
    `{"dialogues": {"d": {"nodes": {"a": {"type": "choice", |}}}}}`, ["options", "text"]);
  await completes("option keys",
    `{"dialogues": {"d": {"nodes": {"a": {"type": "choice", "options": [{|}]}}}}}`,
    ["id", "text", "requires", "effects", "next", "rule_event"]);
  await completes("effect fields in a dialogue option",
    `{"dialogues": {"d": {"nodes": {"a": {"type": "choice", "options": [{"effects": [{"type": "start_dialogue", |}]}]}}}}}`,
    ["dialogue"]);
  await completes("task type values",
    `{"tasks": [{"id": "t", "type": |}]}`,
    ['"near"', '"chat"', '"interact_block"', '"interact_entity"', '"quest_event"', '"choice"']);
  await completes("listener type values",
    `{"rule_listeners": [{"id": "l", "type": |}]}`, ['"near"', '"chat"', '"quest_event"']);
  await completes("reward type values",
    `{"tasks": [${TASK}, "rewards": [{"type": |}]}]}`, ['"xp"', '"item"', '"command"']);
  await completes("timer keys",
    `{"timers": {"storm": {|}}}`, ["delay_seconds", "repeat_seconds", "effects"]);

  // diagnostics: each gameplay-changing typo of issue 10, at the typo
  await squiggles("repeatable.cooldown",
    `{"tasks": [${TASK}, "repeatable": {"cooldown": 86400}}]}`, '"cooldown"');
  await squiggles("rewards[].amout",
    `{"tasks": [${TASK}, "rewards": [{"type": "xp", "amout": 40}]}]}`, '"amout"');
  await squiggles("require on a dialogue option",
    `{"dialogues": {"d": {"entry": "ask", "nodes": {"ask": {"type": "choice", "text": "Help?", "options": [{"id": "yes", "text": "Yes", "next": "end", "require": {"type": "flag_set", "flag": "trusted"}}]}, "end": {"type": "end"}}}}}`,
    '"require"');
  await squiggles("listener target",
    `{"rule_listeners": [{"id": "hello", "type": "near", "target": ["mia"]}]}`, '"target"');
  await squiggles("duplicate key",
    `{"tasks": [${TASK}, "on_complete": [], "on_complete": [{"type": "set_flag", "flag": "x"}]}]}`,
    '"on_complete"', '"on_complete": []');
  // the schema and the engine agree on the value policy
  await squiggles("a count written as a string",
    `{"tasks": [${TASK}, "count": "3"}]}`, '"3"');
  await squiggles("once as a word",
    `{"rule_listeners": [{"id": "l", "targets": ["mia"], "once": "yes"}]}`, '"yes"');
  await squiggles("an unknown field of an effect",
    `{"tasks": [${TASK}, "on_complete": [{"type": "set_flag", "flag": "x", "flags": "y"}]}]}`,
    '"flags"');
  // text variables: VS Code's own regular expressions read the narration grammar
  await squiggles("a misspelt text variable in a hint",
    `{"tasks": [${TASK}, "hint": "Hello {palyer}!"}]}`, '"Hello {palyer}!"', "",
    "A text variable is {player}");
  await squiggles("a lone brace in a dialogue line",
    `{"dialogues": {"d": {"entry": "a", "nodes": {"a": {"type": "line", "text": ["ok", "50% {off"]}}}}}`,
    '"50% {off"', "", "write {{ for a literal {");
  await squiggles("a text variable in a task title",
    `{"tasks": [${TASK}, "title": "Meet {player}"}]}`, '"Meet {player}"', "",
    "A name is shown as written");
  await isClean("text variables and escapes in narration",
    `{"tasks": [${TASK}, "hint": "{player}: {var:gold} gold, {{braces}} and }", "title": "Meet Mia"}], "world_patch": {"mc": {"tell": "Hi {player}"}}}`);
  await isClean("a custom task type is legal",
    `{"tasks": [{"id": "t", "type": "story", "target": "x", "hints": ["DriftSystem"]}]}`);
  await isClean("once player, repeatable true",
    `{"rule_listeners": [{"id": "l", "targets": ["mia"], "once": "player"}], "tasks": [${TASK}, "repeatable": true}]}`);

  for (const r of results) console.log(JSON.stringify(r));
  const failed = results.filter((r) => !r.ok);
  if (failed.length) {
    console.error(`editor check: ${failed.length} of ${results.length} cases failed: ` +
                  failed.map((f) => f.name).join(", "));
    process.exit(1);
  }
  console.error(`editor check: ${results.length} cases passed`);
}

main().catch((e) => { console.error(e); process.exit(2); });
