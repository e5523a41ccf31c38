# For mypy only: `import mended_level` (top-level at run time, its folder is on sys.path) is tests.designer.mended_level.
from tests.designer.mended_level import *
