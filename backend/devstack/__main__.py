"""`python -m devstack run|manage ...`: the command line of `make run`, `make admin-password` and
`make import`.

The work is the supervisor's (devstack.supervisor); here are the arguments, and the signals:
SIGINT or SIGTERM asks the stack to stop, and whatever has started is stopped before the exit.
"""

import argparse
import signal
import sys

from .processes import ServiceError
from .supervisor import Stack, Stopped


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=["run", "manage"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="manage: the manage.py command")
    options = parser.parse_args()
    stack = Stack()

    def request_stop(signum: int, frame: object) -> None:
        stack.stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        return stack.run() if options.command == "run" else stack.manage_command(options.args)
    except Stopped:
        return 0
    except ServiceError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
