# For mypy only: `import player` (top-level at run time, its folder is on sys.path) is tests.compat.player.
from tests.compat.player import *
