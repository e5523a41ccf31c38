# For mypy only: code imports `mended_level` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.designer.mended_level.
from tests.designer.mended_level import *
