# For mypy only: code imports `schema_levels` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.schema.schema_levels.
from tests.schema.schema_levels import *
