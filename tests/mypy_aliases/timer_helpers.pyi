# For mypy only: `import timer_helpers` (top-level at run time, its folder is on sys.path) is tests.timers.timer_helpers.
from tests.timers.timer_helpers import *
