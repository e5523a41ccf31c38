# For mypy only: code imports `studio_helpers` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.studio.studio_helpers.
from tests.studio.studio_helpers import *
