"""The local stack without Docker: an embedded PostgreSQL and Redis, and the `make run` supervisor.

Used by `make run` (`python -m devstack run`), by `make test` (the pytest plugin) and by the
benchmarks. Nothing here is imported by the service itself.
"""
