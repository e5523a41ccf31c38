# For mypy only: code imports `http_helpers` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.server.http_helpers.
from tests.server.http_helpers import *
