"""The hidden-typo suite: each broken level file gives the finding a designer needs.

Every case runs ``quest-runtime validate`` on files from ``tests/fixtures/broken_levels/``
and asserts the exact text of the expected finding (location, message, pointer, hint) and
the exit status (1 with an error, 0 with warnings only). A case that needs a second file
(duplicates across files, a reference to another level) names it too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quest_runtime.cli import main

REPO = Path(__file__).resolve().parents[2]
BROKEN = "tests/fixtures/broken_levels"

CASES: list[tuple[str, list[str], list[str], int]] = [
    ("key typo in a task", ["key_typo_task.json"], [
        "key_typo_task.json:5:6: error: unknown key 'conditons' in task 'greet_mia': a "
        "typo of 'conditions'? It would be ignored [/tasks/0/conditons] (did you mean "
        "'conditions'?)"], 1),
    ("key typo at the top level", ["key_typo_toplevel.json"], [
        "key_typo_toplevel.json:4:3: error: unknown key 'taks' in the level: a typo of "
        "'tasks'? It would be ignored [/taks] (did you mean 'tasks'?)"], 1),
    ("key typo in a listener", ["listener_key_typo.json"], [
        "listener_key_typo.json:5:41: error: unknown key 'taregts' in listener 'mia_hello': "
        "a typo of 'targets'? It would be ignored [/rule_listeners/0/taregts] (did you mean "
        "'targets'?)"], 1),
    ("condition type typo", ["condition_type_typo.json"], [
        "condition_type_typo.json:7:27: error: unknown condition type 'flag_sett' "
        "[/tasks/1/requires/type] (did you mean 'flag_set'?)"], 1),
    ("effect type typo", ["effect_type_typo.json"], [
        "effect_type_typo.json:5:31: error: unknown effect type 'set_flg' "
        "[/tasks/0/on_complete/0/type] (did you mean 'set_flag'?)"], 1),
    ("task type typo", ["task_type_typo.json"], [
        "task_type_typo.json:3:13: warning: task 'greet_mia' has type 'neer': no rule event "
        "the plugin sends carries that type and no complete_task effect names it, so it may "
        "never complete [/tasks/0] (did you mean 'near'?)"], 0),
    ("after names an unknown task", ["after_unknown_task.json"], [
        "after_unknown_task.json:5:70: error: task 'say_ready' comes after unknown task "
        "'gret_mia' [/tasks/1/after/0] (did you mean 'greet_mia'?)"], 1),
    ("issue_task names an unknown task", ["issue_task_unknown.json"], [
        "issue_task_unknown.json:5:53: error: issue_task names unknown task 'fetch_wod' "
        "[/tasks/0/on_complete/0/task] (did you mean 'fetch_wood'?)",
        "issue_task_unknown.json:6:5: warning: task 'fetch_wood' is manual but no issue_task "
        "effect issues it [/tasks/1] (add an issue_task effect, or drop \"issue\": "
        "\"manual\")"], 1),
    ("a condition names an unknown task", ["condition_unknown_task.json"], [
        "condition_unknown_task.json:6:53: error: task_completed names unknown task "
        "'fetch_wod' [/tasks/1/requires/task] (did you mean 'fetch_wood'?)"], 1),
    ("a condition names an unknown milestone", ["milestone_unknown.json"], [
        "milestone_unknown.json:7:63: error: milestone_completed names unknown milestone "
        "'reach_peir' [/tasks/1/requires/milestone] (did you mean 'reach_pier'?)"], 1),
    ("start_dialogue names an unknown dialogue", ["dialogue_unknown.json"], [
        "dialogue_unknown.json:4:69: error: start_dialogue names unknown dialogue "
        "'mia_intor' [/tasks/0/on_complete/0/dialogue] (did you mean 'mia_intro'?)"], 1),
    ("schedule_timer names an unknown timer", ["timer_unknown.json"], [
        "timer_unknown.json:4:66: error: "], 1),
    ("after cycle", ["after_cycle.json"], [
        "after_cycle.json:5:79: error: 'after' cycle: 'find_oil' → 'light_lantern' → "
        "'find_oil' (none of these tasks can ever be issued) [/tasks/1/after/0] (remove one "
        "of these 'after' entries)"], 1),
    ("activate_rule ref typo", ["rule_ref_typo.json"], [
        "rule_ref_typo.json:5:55: warning: activate_rule ref 'mia_gfit' gates no listener of "
        "this level [/tasks/0/on_complete/0/ref] (did you mean 'mia_gift'?)",
        "rule_ref_typo.json:8:86: warning: listener 'mia_gift_tinderbox' is gated by ref "
        "'mia_gift', which no activate_rule effect of this level activates: it never fires "
        "[/rule_listeners/0/rule_ref] (did you mean 'mia_gfit'?)"], 0),
    ("flag read but never set", ["flag_never_set.json"], [
        "flag_never_set.json:7:47: warning: flag_set reads flag 'met_maia', which is set by "
        "no set_flag effect [/tasks/1/requires/flag] (did you mean 'met_mia'?)"], 0),
    ("item required but never granted", ["item_never_granted.json"], [
        "item_never_granted.json:7:47: warning: has_item reads item 'lanturn', which is "
        "granted by no gain_item effect or item reward [/tasks/1/requires/item] (did you "
        "mean 'lantern'?)"], 0),
    ("wrong type, and the rest of the file is still checked", ["wrong_type_and_more.json"], [
        "wrong_type_and_more.json:4:71: error: 'count' must be an integer, not a string "
        "[/tasks/0/count]",
        "wrong_type_and_more.json:5:70: error: task 'say_ready' comes after unknown task "
        "'greet_mai' [/tasks/1/after/0] (did you mean 'greet_mia'?)"], 1),
    ("wrong type of a listener's targets", ["wrong_type_targets.json"], [
        "wrong_type_targets.json:5:52: error: 'targets' must be a list, not a string "
        "[/rule_listeners/0/targets]"], 1),
    ("invalid JSON: a missing comma", ["invalid_json_missing_comma.json"], [
        "invalid_json_missing_comma.json:5:5: error: invalid JSON: expected ',' or ']' after "
        "an array item [/] (is a ',' missing at the end of line 4?)"], 1),
    ("invalid JSON: a trailing comma", ["invalid_json_trailing_comma.json"], [
        "invalid_json_trailing_comma.json:4:61: error: invalid JSON: a ',' after the last "
        "array item [/] (a trailing comma is not allowed in JSON; remove it)"], 1),
    ("invalid JSON: single quotes", ["invalid_json_single_quotes.json"], [
        "invalid_json_single_quotes.json:4:12: error: invalid JSON: expected a value (string, "
        "number, object, array, true, false or null) [/] (JSON uses double quotes (\"), not "
        "single quotes)"], 1),
    ("duplicate level id across files", ["duplicate_level_a.json", "duplicate_level_b.json"], [
        "duplicate_level_b.json:2:9: error: level id 'lantern_night' is also used by "
        f"{BROKEN}/duplicate_level_a.json (that file serves: shallowest path first; this one "
        "is refused) [/id] (a levels folder serves one level per id: rename one or delete "
        "the copy; the file name is the default id)"], 1),
    ("duplicate task id across levels",
     ["duplicate_task_across_levels.json", "duplicate_task_other_level.json"], [
         "duplicate_task_other_level.json:4:12: warning: task id 'greet_mia' is also a task "
         "of level "
         f"'duplicate_task_across_levels' ({BROKEN}/duplicate_task_across_levels.json) "
         "[/tasks/0/id] (quest logs and journals name tasks by id: give each level's tasks "
         "their own ids)"], 0),
    ("end_level names an unknown level", ["next_level_typo.json", "../../../levels/lakeside.json"],
     ["next_level_typo.json:4:66: warning: end_level names level 'lakesde', which none of "
      "the 2 level files checked defines [/tasks/0/on_complete/0/next_level] (did you mean "
      "'lakeside'?)"], 0),
]


@pytest.mark.parametrize(("files", "expected", "status"),
                         [pytest.param(f, e, s, id=name) for name, f, e, s in CASES])
def test_broken_level_gives_the_expected_finding(
    files: list[str], expected: list[str], status: int, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["validate", *(f"{BROKEN}/{f}" for f in files)])
    lines = capsys.readouterr().out.splitlines()
    for text in expected:
        wanted = f"{BROKEN}/{text}"
        assert any(line.startswith(wanted) if text.endswith(": ") else line == wanted
                   for line in lines), "\n".join([f"wanted: {wanted}", "got:", *lines])
    assert code == status, "\n".join(lines)


def test_the_suite_covers_every_fixture() -> None:
    used = {f for _, files, _, _ in CASES for f in files if "/" not in f}
    present = {p.name for p in (REPO / BROKEN).glob("*.json")}
    assert present == used
    assert len(present) >= 15


def test_json_format_carries_the_same_findings(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.chdir(REPO)
    assert main(["validate", "--format", "json", f"{BROKEN}/wrong_type_and_more.json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 2
    assert [(f["line"], f["column"], f["pointer"], f["code"]) for f in report["findings"]] == [
        (4, 71, "/tasks/0/count", "bad_value"), (5, 70, "/tasks/1/after/0", "unknown_task")]
