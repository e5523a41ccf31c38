# For mypy only: code imports `instructions` top-level (its folder is on sys.path at run
# time); mypy checks it as bench.instructions.
from bench.instructions import *
