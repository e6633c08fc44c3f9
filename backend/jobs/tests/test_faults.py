"""Faults in the middle of a 50,000-row import: the worker killed, Redis restarted, PostgreSQL
restarted. Each ends cleanly: the catalog whole, the job's words right, the workers alive.

The workers are this test's own, started as `make run` starts them (`worker_commands`: the jobs'
worker in processes, the webhooks worker in threads at the lowest priority), the jobs' one also
on a queue of its own, so that the import runs there and not in the session's worker.
"""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError, connection
from kombu.exceptions import OperationalError as BrokerError

from core.db import psycopg_params
from devstack.processes import (
    die_with_parent,
    stop_process,
    tail,
    worker_command,
    worker_commands,
)
from jobs import lifecycle
from jobs.models import Job
from jobs.tasks import run_import, run_revert
from product_importer.celery import app
from products.bulk import PRODUCT_TABLE
from products.models import Product
from webhooks.tests.helpers import Receiver, create_product, subscribe

from .helpers import upload, wait_for
from .test_job_lifecycle import big_catalog
from .test_undo import catalog_checksum

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

BACKEND_DIR = Path(__file__).resolve().parents[2]
ROWS = 50_000
QUEUE = "faults"


class Workers:
    """The jobs' worker and the webhooks worker, each in a process group of its own."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env | {"JOB_HEARTBEAT_INTERVAL": "1"}
        self.logs = logs
        commands = worker_commands(concurrency=2, log_level="INFO")
        jobs = worker_command(concurrency=2, log_level="INFO", queues=f"{QUEUE},imports")
        self.commands = {
            "jobs": [*jobs, "--hostname", "faults-jobs@%h"],
            "webhooks": [*commands["webhooks worker"], "--hostname", "faults-webhooks@%h"],
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                self.commands[name],
                cwd=BACKEND_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(signal.SIGTERM),
                start_new_session=True,  # its own process group, to kill it whole
            )
        self.wait_until_answering(name)

    def wait_until_answering(self, name: str, timeout: float = 60) -> None:
        """Until the worker answers a ping through the broker: it is alive and connected."""
        deadline = time.monotonic() + timeout
        while not self.answers(name):
            process = self.processes[name]
            assert process.poll() is None, f"the {name} worker exited:\n{self.log(name)}"
            assert time.monotonic() < deadline, f"the {name} worker does not answer"

    @staticmethod
    def answers(name: str) -> bool:
        destination = [f"faults-{name}@{os.uname().nodename}"]
        try:
            return bool(app.control.ping(destination=destination, timeout=0.5))
        except (redis.RedisError, BrokerError, OSError):  # this process's connection, lost
            return False

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(10)

    def log(self, name: str) -> str:
        return tail(self.logs / f"{name}.log", lines=40)

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process(process)


@pytest.fixture
def workers(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    started = Workers(subprocess_env, tmp_path)
    try:
        for name in ("jobs", "webhooks"):
            started.start(name)
        yield started
    finally:
        started.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def start_import(rows: int = ROWS) -> Job:
    """A stored catalog of `rows` new products, its import queued to this test's worker."""
    job = Job.objects.create(
        kind=Job.Kind.IMPORT,
        file=default_storage.save("uploads/faults.csv", ContentFile(big_catalog(rows))),
        file_name="faults.csv",
    )
    run_import.apply_async(args=(str(job.pk),), queue=QUEUE)
    return job


def wait_until_in_its_transaction(job: Job, timeout: float = 60) -> None:
    """Until the import has rows in its (uncommitted) transaction."""
    deadline = time.monotonic() + timeout
    while not Job.objects.filter(pk=job.pk, processed_rows__gt=0).exists():
        current = Job.objects.get(pk=job.pk)
        assert current.status in lifecycle.UNFINISHED, current.__dict__
        assert time.monotonic() < deadline, current.__dict__
        time.sleep(0.02)


def hold_in_its_transaction(
    job: Job, timeout: float = 60, stage: str = "importing"
) -> psycopg.Connection[Any]:
    """Until the import has parsed its file (or a job is at `stage`) and waits, in its
    (uncommitted) transaction, to write the catalog, which the returned connection keeps
    locked: however fast the job, it is still there when the test acts."""
    holder = psycopg.connect(**psycopg_params())
    holder.execute(f"LOCK TABLE {PRODUCT_TABLE} IN SHARE MODE")
    deadline = time.monotonic() + timeout
    while not Job.objects.filter(pk=job.pk, stage=stage).exists():
        current = Job.objects.get(pk=job.pk)
        assert current.status in lifecycle.UNFINISHED, current.__dict__
        assert time.monotonic() < deadline, current.__dict__
        time.sleep(0.02)
    return holder


def wait_for_job(job: Job, until: set[str], timeout: float) -> Job:
    """The job once its status is in `until`, read through the ORM (through a database that
    may still be coming back)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            current = Job.objects.get(pk=job.pk)
            if current.status in until:
                return current
        except OperationalError:
            connection.close()
        assert time.monotonic() < deadline, f"job still not {until}"
        time.sleep(0.05)


def assert_imported_whole(job: Job) -> dict[str, Any]:
    done = wait_for_job(job, {"COMPLETED", "FAILED"}, timeout=120)
    assert (done.status, done.created_count, done.updated_count) == ("COMPLETED", ROWS, 0)
    assert Product.objects.count() == ROWS
    return done.__dict__


def test_a_worker_killed_mid_import_fails_its_job_within_seconds(api, workers, settings):
    job = start_import()
    holder = hold_in_its_transaction(job)

    workers.kill("jobs")
    holder.close()  # the killed worker's backend, freed, finds its client gone and rolls back
    killed = time.monotonic()
    settings.JOB_HEARTBEAT_TIMEOUT = 5  # the worker beats every second
    while (body := api.get(f"/api/job/{job.pk}/status/").json())["status"] == "PROCESSING":
        assert time.monotonic() - killed < 30, body
        time.sleep(0.2)

    assert (body["status"], body["error_message"]) == ("FAILED", lifecycle.DEAD_WORKER_ERROR)
    assert Product.objects.count() == 0
    # Queued while no worker ran, and its task lost: the next worker to start runs it.
    lost = Job.objects.create(kind=Job.Kind.BULK_DELETE)
    workers.start("jobs")
    assert wait_for_job(lost, {"COMPLETED", "FAILED"}, timeout=30).status == "COMPLETED"
    assert api.post(f"/api/jobs/{job.pk}/retry/").status_code == 202
    assert_imported_whole(job)


def test_a_worker_killed_mid_revert_leaves_the_catalog_as_before_the_revert(api, workers, settings):
    imported = start_import()
    assert_imported_whole(imported)
    before = catalog_checksum()
    revert = Job.objects.create(kind=Job.Kind.REVERT, reverts=imported, options={"force": False})
    run_revert.apply_async(args=(str(revert.pk),), queue=QUEUE)
    holder = hold_in_its_transaction(revert, stage="reverting")

    workers.kill("jobs")
    holder.close()
    killed = time.monotonic()
    settings.JOB_HEARTBEAT_TIMEOUT = 5
    while (body := api.get(f"/api/job/{revert.pk}/status/").json())["status"] == "PROCESSING":
        assert time.monotonic() - killed < 30, body
        time.sleep(0.2)

    assert (body["status"], body["error_message"]) == ("FAILED", lifecycle.DEAD_WORKER_ERROR)
    assert catalog_checksum() == before
    assert api.get(f"/api/jobs/{imported.pk}/").json()["revertible"] is True
    workers.start("jobs")
    assert api.post(f"/api/jobs/{revert.pk}/retry/").status_code == 202
    done = wait_for_job(revert, {"COMPLETED", "FAILED"}, timeout=120)
    assert (done.status, done.deleted_count) == ("COMPLETED", ROWS)
    assert Product.objects.count() == 0


def test_a_redis_restart_mid_import_loses_nothing_and_the_workers_go_on(
    api, workers, embedded_redis, receiver, tmp_path
):
    subscribe(api, receiver.url(), ["product.created"])
    job = start_import()
    wait_until_in_its_transaction(job)

    embedded_redis.stop()
    time.sleep(3)
    embedded_redis.start()

    assert_imported_whole(job)
    for name in ("jobs", "webhooks"):
        workers.wait_until_answering(name, timeout=30)
    after = wait_for(api, upload(api, b"sku,name\nafter-1,After\n").json())
    assert (after["status"], after["created_count"]) == ("COMPLETED", 1)
    create_product(api, "LAMP-AFTER")
    [delivery] = receiver.wait_for(1)
    assert b'"LAMP-AFTER"' in delivery.body
    for name in ("jobs", "webhooks"):
        assert "Unrecoverable" not in (tmp_path / f"{name}.log").read_text(), workers.log(name)


def test_a_postgres_restart_mid_import_fails_with_words_then_retries_by_itself(
    api, workers, embedded_postgres
):
    job = start_import()
    holder = hold_in_its_transaction(job)

    embedded_postgres.stop()
    holder.close()  # its server is gone, and its lock with it
    time.sleep(2)
    embedded_postgres.start()
    back = time.monotonic()
    # This process's pooled connections died with the server: a new pool, so that the polls
    # below see the job at once (the pool's checks would wait between the dead ones).
    connection.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's wrapper has it

    failed = wait_for_job(job, {"FAILED", "COMPLETED"}, timeout=30)
    assert time.monotonic() - back < 10, "the job was failed late"
    assert failed.status == "FAILED", failed.__dict__
    assert failed.error_message == (
        lifecycle.DATABASE_LOST_ERRORS[Job.Kind.IMPORT] + lifecycle.RETRIED_AUTOMATICALLY
    )
    assert Product.objects.count() == 0
    wait_for_job(
        job, {"PENDING", "PROCESSING", "COMPLETED"}, timeout=lifecycle.AUTOMATIC_RETRY_DELAY + 5
    )
    done = assert_imported_whole(job)
    assert done["automatic_retries"] == 1
    assert done["message"] == "Import complete" + lifecycle.RETRIED_DONE
    assert api.get(f"/api/job/{job.pk}/status/").json()["automatic_retries"] == 1
    for name in ("jobs", "webhooks"):
        workers.wait_until_answering(name, timeout=10)
