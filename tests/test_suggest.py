"""Did-you-mean suggestions: close misspellings get a candidate, far-off words none."""

from __future__ import annotations

import pytest

from quest_runtime.suggest import did_you_mean, hint_for, near_miss

TASK_KEYS = [
    "id", "type", "target", "count", "title", "hint", "milestones", "conditions",
    "rule_refs", "rule_event", "reward", "rewards", "dialogue", "requires", "after",
    "on_complete", "repeatable", "time_limit_seconds", "ensures", "issue",
]  # fmt: skip
TASK_IDS = ["fetch_wood", "greet_mia", "light_lantern"]


@pytest.mark.parametrize(
    ("word", "candidates", "expected"),
    [
        pytest.param("conditons", TASK_KEYS, "conditions", id="missing-letter"),
        pytest.param("tagret", TASK_KEYS, "target", id="swapped-letters"),
        pytest.param("fetch_wod", TASK_IDS, "fetch_wood", id="task-id"),
        pytest.param("Milestones", TASK_KEYS, "milestones", id="case-only"),
        pytest.param("TARGT", TASK_KEYS, "target", id="case-and-typo"),
        pytest.param("typ", TASK_KEYS, "type", id="short-word-one-edit"),
        pytest.param("on_compleet", TASK_KEYS, "on_complete", id="two-edits-long-word"),
        pytest.param("zzz", TASK_KEYS, None, id="nothing-close"),
        pytest.param("narrative", TASK_KEYS, None, id="unrelated-long-word"),
        pytest.param("", TASK_KEYS, None, id="empty-word"),
        pytest.param("target", [], None, id="no-candidates"),
    ],
)
def test_did_you_mean(word: str, candidates: list[str], expected: str | None) -> None:
    assert did_you_mean(word, candidates) == expected


@pytest.mark.parametrize(
    ("word", "candidates", "expected"),
    [
        pytest.param("rewardz", ["rewards", "reward"], "rewards", id="closest-wins"),
        pytest.param("cat", ["bat", "hat"], "bat", id="tie-goes-to-first"),
        pytest.param("cat", ["hat", "bat"], "hat", id="tie-order-is-callers"),
    ],
)
def test_did_you_mean_prefers(word: str, candidates: list[str], expected: str) -> None:
    assert did_you_mean(word, candidates) == expected


def test_did_you_mean_accepts_any_iterable() -> None:
    assert did_you_mean("greet_mai", (t for t in TASK_IDS)) == "greet_mia"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        pytest.param("conditons", "did you mean 'conditions'?", id="suggestion"),
        pytest.param("zzz", None, id="none"),
    ],
)
def test_hint_for(word: str, expected: str | None) -> None:
    assert hint_for(word, TASK_KEYS) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        pytest.param("amout", "amount", id="did-you-mean"),
        pytest.param("cooldown", "cooldown_seconds", id="unit-left-off"),
        pytest.param("Cooldown", "cooldown_seconds", id="case-insensitive"),
        pytest.param("on", None, id="too-short-for-a-prefix"),
        pytest.param("memory_set", None, id="no-near-miss"),
        pytest.param("seconds", None, id="a-suffix-is-not-a-prefix"),
    ],
)
def test_near_miss_also_takes_a_key_with_its_unit_left_off(word: str,
                                                          expected: str | None) -> None:
    assert near_miss(word, ["amount", "cooldown_seconds", "once", "id"]) == expected


def test_closeness_orders_candidates_however_far_they_are() -> None:
    from quest_runtime.suggest import closeness

    assert closeness("Tomas", "tomas") == 1.0
    assert closeness("", "") == 1.0
    assert closeness("tomas_npc", "tomas_npcc") > closeness("tomas_npc", "mia_npc") > 0.0
    assert closeness("abc", "xyz") == 0.0
