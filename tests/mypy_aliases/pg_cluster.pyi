# For mypy only: code imports `pg_cluster` top-level (its folder is on sys.path at run
# time); mypy checks it as tests.store.postgres.pg_cluster.
from tests.store.postgres.pg_cluster import *
