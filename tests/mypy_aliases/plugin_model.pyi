# For mypy only: code imports `plugin_model` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.compat.plugin_model.
from tests.compat.plugin_model import *
