# For mypy only: `import plugin_model` (top-level at run time, its folder is on sys.path) is tests.compat.plugin_model.
from tests.compat.plugin_model import *
