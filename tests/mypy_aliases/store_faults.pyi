# For mypy only: code imports `store_faults` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.store_faults.
from tests.store_faults import *
