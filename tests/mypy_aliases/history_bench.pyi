# For mypy only: code imports `history_bench` top-level (its folder is on sys.path at run
# time); mypy checks it as bench.history_bench.
from bench.history_bench import *
