"""The engine: turning rule events into results over player state (SPEC §4)."""
