"""Fixtures of the service tests: ``serve`` and ``spawn`` (defined once, with the other
helpers and their docs, in ``http_helpers.py``)."""

from __future__ import annotations

from http_helpers import serve, spawn

__all__ = ["serve", "spawn"]
