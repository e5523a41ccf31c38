"""The designer's tools: everything a level designer runs besides the service.

- ``scenario``: scenario scripts (``*.scenario.jsonl``) and ``ScenarioRunner``, which plays
  them through the service's own ``Runtime`` on an in-memory store and a fake clock;
- ``preview``: ``quest-runtime preview`` (cards, ``--json``, ``--explain``, ``--watch``);
- ``interactive``: its ``--interactive`` prompt;
- ``replay``: ``quest-runtime test``, every scenario replayed against its ``expect``;
- ``explain``: why a task or listener did or did not fire (also served by ``POST
  /world/story/explain`` and ``…/debug/tasks``), built on the engine's own gate rules
  (``engine/gates.py``);
- ``cards``: results drawn as the plugin shows them; ``console``: output the commands
  share.

Nothing in the engine, the levels or the store imports this package.
"""
