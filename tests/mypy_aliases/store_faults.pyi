# For mypy only: `import store_faults` (top-level at run time, its folder is on sys.path) is tests.store_faults.
from tests.store_faults import *
