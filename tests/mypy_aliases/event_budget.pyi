# For mypy only: code imports `event_budget` top-level (its folder is on sys.path at run
# time); mypy checks it as bench.event_budget.
from bench.event_budget import *
