# For mypy only: code imports `player` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.compat.player.
from tests.compat.player import *
