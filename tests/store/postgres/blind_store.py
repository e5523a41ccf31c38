"""A deliberately wrong store, for the race test only: ``BlindPostgresStore`` writes every
commit blindly (last writer wins, no version check, a repeated ``event_id`` silently
dropped), the way the quest plugins the issue cites keep per-server copies. The race
test must FAIL with it: that shows the test can see lost and doubled progress.

``python blind_store.py serve ...`` runs ``quest-runtime serve`` with this store in
place of ``PostgresStore``.
"""

from __future__ import annotations

import sys

from quest_runtime.store import postgres

_BLIND_FUNCTION = """CREATE OR REPLACE FUNCTION qr_blind_commit(
    p_player TEXT, p_document BYTEA, p_version BIGINT, p_due DOUBLE PRECISION,
    p_outbox BOOLEAN, p_whole BOOLEAN, p_names TEXT[], p_values BYTEA[],
    p_event_id TEXT, p_event_type TEXT, p_received DOUBLE PRECISION, p_effects BYTEA,
    p_result BYTEA, p_digest TEXT, p_limit INTEGER, p_generation BIGINT) RETURNS INTEGER
LANGUAGE plpgsql AS $fn$
DECLARE
    v_seq BIGINT;
BEGIN
    INSERT INTO players (player_id, document, version, updated_at, due, outbox, seq)
    VALUES (p_player, p_document, p_version + 1, 0, p_due, p_outbox, 0)
    ON CONFLICT (player_id) DO UPDATE SET document = EXCLUDED.document,
        version = EXCLUDED.version, due = EXCLUDED.due, outbox = EXCLUDED.outbox;
    IF p_whole THEN
        DELETE FROM player_parts WHERE player_id = p_player;
    END IF;
    INSERT INTO player_parts (player_id, part, value)
    SELECT p_player, u.n, u.v FROM unnest(p_names, p_values) AS u(n, v) WHERE u.v IS NOT NULL
    ON CONFLICT (player_id, part) DO UPDATE SET value = EXCLUDED.value;
    DELETE FROM player_parts WHERE player_id = p_player AND part IN (
        SELECT u.n FROM unnest(p_names, p_values) AS u(n, v) WHERE u.v IS NULL);
    IF p_event_type IS NOT NULL THEN
        UPDATE players SET seq = seq + 1 WHERE player_id = p_player RETURNING seq INTO v_seq;
        INSERT INTO journal (player_id, seq, event_id, event_type, received_at, effects,
                             result, digest)
        VALUES (p_player, v_seq, p_event_id, p_event_type, p_received, p_effects, p_result,
                p_digest)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN 0;
END
$fn$"""


class BlindPostgresStore(postgres.PostgresStore):
    """``PostgresStore`` with the conditional write replaced by a blind one."""

    commit_sql = postgres._COMMIT.replace("qr_commit(", "qr_blind_commit(")

    async def _migrate(self, steps: object = postgres.MIGRATIONS) -> None:
        await super()._migrate()
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7)")
            await conn.execute(_BLIND_FUNCTION)


if __name__ == "__main__":
    postgres.PostgresStore = BlindPostgresStore  # type: ignore[misc]
    from quest_runtime.cli import run

    sys.argv[0] = "quest-runtime"
    sys.exit(run())
