# For mypy only: `import studio_helpers` (top-level at run time, its folder is on sys.path) is tests.studio.studio_helpers.
from tests.studio.studio_helpers import *
