# For mypy only: code imports `pg_procs` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.store.postgres.pg_procs.
from tests.store.postgres.pg_procs import *
