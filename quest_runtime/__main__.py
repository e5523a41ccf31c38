"""``python -m quest_runtime``: the same as the ``quest-runtime`` command."""

import sys

from quest_runtime.cli import run

sys.exit(run())
