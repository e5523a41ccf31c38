# For mypy only: `import http_helpers` (top-level at run time, its folder is on sys.path) is tests.server.http_helpers.
from tests.server.http_helpers import *
