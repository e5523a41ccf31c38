"""Level files: reading, findings, validation, compilation and the level store."""
