"""quest-runtime: a quest rule engine for Minecraft servers.

A Bukkit/Paper plugin posts what players do; quest-runtime keeps each player's quest
progress from level JSON files, fires NPC behaviour bindings and answers with world
patches, narration nodes, console commands and ``exit_ready`` (see SPEC.md).

Request path (``POST /world/story/rule-event``)
1. ``server/routes.py``: body bytes → orjson → ``bridge_protocol.RuleEventRequest``
   (one validation); errors become JSON bodies in ``server/errors.py`` (one place).
2. ``runtime.py``: take the player's lock (arrival order), replay a known ``event_id``
   from the journal, get the player's state (cache, else the store).
3. ``engine/core.py``: ``Engine.handle`` reads the serving ``CompiledLevel`` once from
   the ``LevelCatalog``, follows a reloaded level by ids, then
   fires the player's due timers first (``Engine.fire_due``; their state in
   ``engine/timers.py``) and takes undelivered pushed results from the outbox
   (``engine/outbox.py``, merged at position 4 of the result);
4. ``atoms.py``: normalises the rule event into ``(kind, token)`` atoms; a chat line or
   choice event that answers a waiting dialogue program is taken by
   ``engine/dialogue.py`` (a consumed chat answer goes no further);
5. ``engine/turn.py``: tasks hit through the level's dispatch index advance, complete,
   pay rewards and run ``on_complete`` effects (``effects/``, guarded by
   ``conditions/``); eligible tasks are issued; listeners hit by the atoms fire;
   level completion sets ``exit_ready`` and the summary;
6. ``engine/merger.py``: every source's output becomes one ordered result the plugin can
   play whole (one ``npc_dialogue``, object-only world-patch operations never lists);
   ``textvars.py`` fills the narration's text variables (``{player}``, ``{var:x}``, ...)
   once, from the player's state; ``engine/commands.py`` fills commands' ``{player}``;
7. ``runtime.py``: the transaction — ``_apply`` runs the engine call on the cached state,
   ``_step`` encodes the journal entry and the state as a core document plus the storage
   parts that changed (``PlayerState.storage``: one per task session, listener mark and
   the levels history; the engine marks what it changes), ``_commit`` stores them
   (group-committed by ``store/sqlite.py``) and is awaited, then ``server/routes.py``
   answers with orjson bytes. A batch (``handle_batch``) looks up all its event_ids at
   once, applies every event, then commits once (``store.commit_many``: one request, one
   transaction, one coalesced write of parts per player).

Reads (``GET …/state``, ``…/quest-log``, ``…/journal``): ``views.py`` over
``Runtime.peek``, which shows committed state only.

``POST /world/story/explain`` takes the same body and runs ``designer/explain.py`` on a copy
of the player's state (steps 3–6 as a dry run, nothing committed): what would fire, and
why every other task and listener would not. ``quest-runtime preview --explain`` prints
the same explanation per scenario step.

The DriftSystem plugin's own calls (PLUGIN.md §2; ``server/plugin_routes.py``)
1. ``POST /story/load/{player}/{level}``: ``Runtime.load_for_plugin`` loads like
   ``/world/story/load``; ``plugin.bootstrap_patch`` draws the issue cards into the entry
   patch (the plugin reads only ``msg`` and ``bootstrap_patch``), and the rest of the load
   result goes to the outbox, merged into the next rule-event result (step 3 above);
2. ``GET /world/state/{player}`` and ``POST /world/story/end`` carry the level's ``exit``
   (``plugin.exit_profile``/``exit_patch``); ``POST /story/advance/{player}`` runs
   ``Runtime.advance`` (check and load under the player's lock);
3. ``…/debug/tasks`` (``views.debug_tasks``) lists ``designer/explain.task_listing``;
   ``…/recommendations`` (``views.recommendations``) the levels whose ``requires`` hold.

Timer path (results nobody asked for, SPEC §4.7)
1. ``scheduler.py``: one task sleeps until the earliest due time across players
   (``timer_index.TimerIndex``, rebuilt at start-up from the store's wakeup index — the
   players with a timer due or undelivered results, no document read — so overdue
   timers fire once after a restart);
2. ``runtime.fire_timers``: under the player's lock, ``Engine.fire_due`` runs each due
   firing as its own Turn and result (effects, then tasks it made eligible) into the
   outbox (``engine/outbox.py``); one transaction like a rule event's;
3. ``server/stream.py``: the results are pushed on ``GET /world/story/stream``; what was
   delivered leaves the outbox (another commit); the rest waits for the next response.

Level reload path
1. ``server/reload.py``: watchfiles reports changed ``*.json`` under the levels folder
   (or SIGHUP, installed by ``server/main.py``, / ``POST /admin/reload`` asks for all of
   them; the loop is ``levels/watch.FolderWatcher``, shared with the studio);
   ``levels/files.py`` says which paths are level files and which may be read
   (links inside the folder only, never a FIFO or a device);
2. ``levels/loader.load_level`` → ``levels/source.read_source`` (the service's catalog and
   ``quest-runtime validate`` load a file through this one function): read the bytes once,
   decode them (a file that is not UTF-8 is an error at its line, column and byte) and
   parse with orjson; one scanner keeps JSON-pointer positions and the keys written twice
   in one object (errors at the second key: ``levels/loader.py``, and dialogue node ids in
   ``levels/dialogues.py``);
3. ``levels/migrations.py``: bring an older ``format`` up to date;
4. ``levels/model.py``: pydantic checks types and collects unknown keys; refused values
   are reported, then set aside by ``levels/recovery.py`` so steps 5–6 still check the
   rest of the file (the level is not served);
5. ``levels/compiler.py`` (with ``levels/clauses.py``, ``levels/timers.py`` and
   ``levels/dialogues.py``): ids, tokens, milestones, rewards, conditions, effects,
   timers and dialogue programs compiled, dispatch indexes built, every finding reported
   with file:line:col, pointer and hint; an unknown key of an owned object is an error
   when it is a near miss of one of its keys, else a warning
   (``levels/report.Reporter.unknown_key``); commands that name no player are warnings;
6. ``levels/facts.py`` collects what the file defines and every name it uses (each
   condition and effect type declares on its fields which names it reads or writes:
   ``params.Param.names``); ``levels/registry.check_level`` checks inside the level:
   ``levels/references.py``, the one reference checker (``after``, tasks, milestones,
   dialogues, timers, with did-you-mean), then ``after`` cycles, dormant refs, unreachable
   tasks, malformed or unknown text variables (``levels/textvars.py``);
   ``quest-runtime validate`` adds the checks across all files (``registry.Registry``:
   duplicate ids, flags/vars/items never set, text variables naming them, unknown levels);
7. ``levels/catalog.py``: a level with no errors replaces the old one in one assignment;
   one with errors keeps the last good one serving. Live sessions follow the new version
   by ids on their next rule event (``engine/core.sync_session``).
"""

__version__ = "0.1.0"
