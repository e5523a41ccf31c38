# For mypy only: `import http_bench` (top-level at run time, its folder is on sys.path) is bench.http_bench.
from bench.http_bench import *
