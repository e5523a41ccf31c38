# For mypy only: `import schema_levels` (top-level at run time, its folder is on sys.path) is tests.schema.schema_levels.
from tests.schema.schema_levels import *
