# For mypy only: code imports `http_bench` top-level (its folder is on sys.path at run
# time); mypy checks it as bench.http_bench.
from bench.http_bench import *
