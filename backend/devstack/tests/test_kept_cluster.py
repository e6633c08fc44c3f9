"""TEST_CLUSTER=keep (`make test-fast`): test sessions of their own, one after the other on one
DATA_DIR, share a cluster made once and a test database made again only when it must be.
"""

import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.postgres import EmbeddedPostgres
from devstack.processes import free_port
from devstack.tests.test_run import UNSET, let_postgres_user_reach

REPO_DIR = Path(__file__).resolve().parents[3]

PROBE = """
import pytest
from django.contrib.auth.models import User
from django.db import connection


@pytest.mark.django_db
def test_probe():
    User.objects.create_user("probe", password="probe")
    assert User.objects.get().check_password("probe")
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        [oid] = cursor.fetchone()
    print(f"PROBE database={oid} port={connection.settings_dict['PORT']}")
"""


def session(probe: Path, data_dir: Path) -> tuple[str, str]:
    """A test session of its own on `probe`, as `make test-fast` starts one: (database, port)."""
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env.update(DATA_DIR=str(data_dir), TEST_CLUSTER="keep")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(REPO_DIR / "pytest.ini"), "--rootdir",
         str(REPO_DIR), "-p", "no:cacheprovider", "-s", "--reuse-db", "--fast-hasher",
         str(probe)],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    found = re.search(r"PROBE database=(\d+) port=(\d+)", output)
    assert found, output
    return found.group(1), found.group(2)


# Whole test sessions of its own, as test_run runs `make run`: too slow for `make test-fast`.
@pytest.mark.integration
@pytest.mark.timeout(600)
def test_the_cluster_and_the_test_database_are_kept_and_made_anew_when_they_must(tmp_path):
    data_dir = tmp_path.resolve() / "data"
    data_dir.mkdir()
    let_postgres_user_reach(data_dir)
    probe = tmp_path / "probe" / "test_probe.py"
    probe.parent.mkdir()
    probe.write_text(PROBE)
    kept = data_dir / "test-fast"
    pg_version = kept / "postgres" / "cluster" / "PG_VERSION"

    database, port = session(probe, data_dir)
    made = pg_version.stat().st_mtime_ns

    # A server that a killed session left running on the cluster is stopped; then all is reused.
    leftover = EmbeddedPostgres(kept / "postgres", free_port())
    leftover.start()
    try:
        assert session(probe, data_dir) == (database, port)
        assert leftover.process is not None
        assert leftover.process.poll() is not None
    finally:
        leftover.stop()
    assert pg_version.stat().st_mtime_ns == made  # no initdb again

    # The migrations are not those the test database was made from: it is made anew.
    (kept / "test-database").write_text("another fingerprint\n")
    again, _ = session(probe, data_dir)
    assert again != database
    assert session(probe, data_dir)[0] == again

    # While another session holds the folder, a session gets servers of its own, then removes them.
    with (kept / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _, own_port = session(probe, data_dir)
    assert own_port != port
    assert sorted(path.name for path in data_dir.iterdir()) == ["test-fast"]
