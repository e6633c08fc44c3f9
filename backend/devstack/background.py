"""`python -m devstack.background COMMAND...`: run COMMAND at the lowest CPU priority there is
for a normal process, as `make run` and the benchmarks run the webhooks worker.

`nice` alone ranks a process only among the processes of its scheduling group, and Linux (with
autogroup, its default) makes a group of each session: a niced worker in a session of its own
still weighs as much against PostgreSQL and the web server (sessions of their own) as they
weigh against each other. So the command gets a session of its own, and its group is niced.
"""

import contextlib
import os
import sys


def lowest_priority() -> None:
    """This process, in a session and scheduling group of its own, at nice 19."""
    # `make run` starts each service in a session of its own already.
    with contextlib.suppress(PermissionError):
        os.setsid()
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write("19")
    except OSError:
        pass  # not Linux, or no autogroup: `nice` alone does what it can
    os.nice(19)


def main() -> None:
    lowest_priority()
    os.execvp(sys.argv[1], sys.argv[1:])  # noqa: S606 (the command as given, as nice does)


if __name__ == "__main__":
    main()
