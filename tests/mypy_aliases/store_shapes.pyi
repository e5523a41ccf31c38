# For mypy only: code imports `store_shapes` top-level (its folder is on sys.path at run
# time); mypy checks it as bench.store_shapes.
from bench.store_shapes import *
