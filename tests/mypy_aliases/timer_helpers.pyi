# For mypy only: code imports `timer_helpers` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.timers.timer_helpers.
from tests.timers.timer_helpers import *
