"""The local stack without Docker: an embedded PostgreSQL and Redis, and the `make run` supervisor.

Used by `make run` (`python -m devstack run`), by `make test` (the pytest plugin) and by the
benchmarks. Nothing here is imported by the service itself.

- `processes`: the commands of the web server and the workers; starting, watching, stopping.
- `postgres`, `redis_server`: the embedded servers, each in a folder of its own.
- `supervisor`: the Stack of `make run`; `__main__`: its command line.
- `pytest_plugin`: the servers of a test session (`make test`), or the kept ones of
  `make test-fast`; `fast_hasher`: the cheap password hashing of `make test-fast`.
- `background`: runs a command at the lowest CPU priority (the webhooks worker).
"""
