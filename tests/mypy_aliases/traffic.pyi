# For mypy only: code imports `traffic` top-level (its folder is on sys.path at run
# time); mypy checks it as bench.traffic.
from bench.traffic import *
