"""A job's life beyond the happy path: the live event stream, a worker killed mid-import, retry,
jobs whose tasks were lost, the order jobs run in, and what counts as a lost database."""

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.db import connection_lost, psycopg_params
from devstack.processes import die_with_parent, stop_process, worker_command
from jobs import lifecycle, services
from jobs.models import Job
from jobs.tasks import run_import
from products.models import Product
from products.tests.factories import make_product

from .helpers import SAMPLE, upload, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

BACKEND_DIR = Path(__file__).resolve().parents[2]


def sse_events(response: requests.Response) -> Iterator[dict[str, Any]]:
    """The `data:` events of a text/event-stream response, as they arrive."""
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


def without_urls(job: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in job.items() if not key.endswith("_url")}


@pytest.fixture
def token(user) -> str:
    key: str = Token.objects.get_or_create(user=user)[0].key
    return key


def test_the_event_stream_follows_an_import_to_the_end(api, token, worker, live_server_url):
    job = upload(api, SAMPLE.read_bytes(), "products.csv").json()
    assert job["events_url"].endswith(f"/api/job/{job['id']}/events/")
    url = f"{live_server_url}/api/job/{job['id']}/events/"

    with requests.get(
        url, headers={"Authorization": f"Token {token}"}, stream=True, timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(response))  # the server ends the stream when the job ends

    assert len({json.dumps(e, sort_keys=True) for e in events}) == len(events), "repeats"
    percents = [e["percent"] for e in events]
    assert percents == sorted(percents)
    last = events[-1]
    assert without_urls(last) == without_urls(api.get(job["status_url"]).json())
    assert (last["status"], last["percent"], last["total_rows"]) == ("COMPLETED", 100, 1000)
    assert last["status_url"] == f"{live_server_url}/api/job/{job['id']}/status/"


def test_the_event_stream_accepts_the_dashboards_session(user, worker, live_server_url):
    job = services.create_bulk_delete_job()
    browser = Client()
    browser.force_login(user)
    cookies = {"sessionid": browser.cookies["sessionid"].value}

    with requests.get(
        f"{live_server_url}/api/job/{job.pk}/events/", cookies=cookies, stream=True, timeout=60
    ) as response:
        assert response.status_code == 200
        assert list(sse_events(response))[-1]["status"] == "COMPLETED"


def test_the_event_stream_answers_errors_as_json(token, live_server_url):
    unknown = f"{live_server_url}/api/job/00000000-0000-4000-8000-000000000000/events/"

    anonymous = requests.get(unknown, timeout=10)
    missing = requests.get(unknown, headers={"Authorization": f"Token {token}"}, timeout=10)
    bad_token = requests.get(unknown, headers={"Authorization": "Token nope"}, timeout=10)

    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No Job matches the given query."}
    assert bad_token.status_code == 401
    assert bad_token.json() == {"detail": "Invalid token."}


def test_watchers_hold_no_thread_each(token, live_server_url):
    job = Job.objects.create(kind=Job.Kind.IMPORT)  # never queued: it stays PENDING
    server = next(
        p
        for p in psutil.Process().children(recursive=True)
        if live_server_url.rsplit(":", 1)[1] in " ".join(p.cmdline())
    )
    url = f"{live_server_url}/api/job/{job.pk}/events/"
    headers = {"Authorization": f"Token {token}"}

    def watch() -> requests.Response:
        response = requests.get(url, headers=headers, stream=True, timeout=30)
        assert next(sse_events(response))["status"] == "PENDING"
        return response

    first = [watch() for _ in range(2)]
    threads_before = server.num_threads()
    watchers = [watch() for _ in range(40)]
    threads_after = server.num_threads()
    for response in first + watchers:
        response.close()

    assert threads_after - threads_before < 5, (threads_before, threads_after)


def big_catalog(rows: int) -> bytes:
    lines = ["sku,name,description"]
    lines += [f"sku-{i},Product {i},A description of product number {i}." for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def doomed_worker(subprocess_env) -> Iterator[subprocess.Popen[bytes]]:
    """A worker of this test's own, on a queue of its own, beating every second."""
    env = subprocess_env | {"JOB_HEARTBEAT_INTERVAL": "1"}
    process = subprocess.Popen(
        [
            *worker_command(concurrency=1, log_level="WARNING", queues="doomed"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        cwd=BACKEND_DIR,
        env=env,
        preexec_fn=die_with_parent(15),
        start_new_session=True,  # its own process group, to kill it whole
    )
    yield process
    stop_process(process)


def test_a_worker_killed_mid_import_changes_nothing_and_the_retry_lands_once(
    api, worker, doomed_worker, settings
):
    make_product(sku="SKU-0", name="Before", description="untouched")
    job = Job.objects.create(
        kind=Job.Kind.IMPORT,
        file=default_storage.save("uploads/doomed.csv", ContentFile(big_catalog(200_000))),
        file_name="doomed.csv",
    )
    run_import.apply_async(args=(str(job.pk),), queue="doomed")
    deadline = time.monotonic() + 120
    while Job.objects.get(pk=job.pk).stage != "importing":  # the upsert's transaction is open
        assert time.monotonic() < deadline, Job.objects.get(pk=job.pk).__dict__
        time.sleep(0.05)

    os.killpg(doomed_worker.pid, signal.SIGKILL)  # the whole worker, as if its machine died
    doomed_worker.wait(10)

    settings.JOB_HEARTBEAT_TIMEOUT = 3
    deadline = time.monotonic() + 30
    while (body := api.get(f"/api/job/{job.pk}/status/").json())["status"] == "PROCESSING":
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    assert body["status"] == "FAILED"
    assert body["error_message"] == lifecycle.DEAD_WORKER_ERROR
    assert list(Product.objects.values_list("sku", "name", "description")) == [
        ("SKU-0", "Before", "untouched")
    ]

    settings.JOB_HEARTBEAT_TIMEOUT = 120
    retried = api.post(f"/api/jobs/{job.pk}/retry/")
    assert retried.status_code == 202
    assert (retried.json()["id"], retried.json()["status"]) == (str(job.pk), "PENDING")
    done = wait_for(api, retried.json(), timeout=240)
    assert done["status"] == "COMPLETED", done
    assert (done["created_count"], done["updated_count"]) == (199_999, 1)
    assert Product.objects.count() == 200_000
    assert Product.objects.get(sku_key="sku-0").name == "Product 0"
    assert not default_storage.exists(job.file), "a completed import's upload is discarded"


def test_only_a_failed_or_cancelled_job_can_be_retried_an_import_with_its_file(api, worker):
    bad = wait_for(api, upload(api, b"name,description\nNo sku,here\n").json())
    assert bad["status"] == "FAILED"
    good = wait_for(api, upload(api, b"sku,name\na-1,A\n").json())
    delete = wait_for(api, api.post("/api/products/bulk_delete/").json())

    again = api.post(f"/api/jobs/{bad['id']}/retry/")
    assert again.status_code == 202
    assert wait_for(api, again.json())["error_message"] == bad["error_message"]
    for job in (good, delete):
        response = api.post(f"/api/jobs/{job['id']}/retry/")
        assert response.status_code == 409
        assert response.json() == {
            "detail": "Only a failed or cancelled job can be retried; this one is COMPLETED."
        }
    Job.objects.filter(pk=bad["id"]).update(file="uploads/gone.csv")
    gone = api.post(f"/api/jobs/{bad['id']}/retry/")
    assert gone.status_code == 409
    assert gone.json() == {"detail": "The uploaded file is no longer stored: upload it again."}


def named_catalog(skus: range, name: str) -> bytes:
    return ("sku,name\n" + "".join(f"sku-{i},{name}\n" for i in skus)).encode()


def test_two_imports_at_once_run_one_after_the_other_never_mixed(api, worker):
    first = upload(api, named_catalog(range(0, 20_000), "A")).json()
    second = upload(api, named_catalog(range(10_000, 30_000), "B")).json()
    jobs = [wait_for(api, first), wait_for(api, second)]

    assert {(j["status"], j["created_count"], j["updated_count"]) for j in jobs} == {
        ("COMPLETED", 20_000, 0),
        ("COMPLETED", 10_000, 10_000),
    }
    assert Product.objects.count() == 30_000
    overlap = set(
        Product.objects.filter(sku_key__in=[f"sku-{i}" for i in range(10_000, 20_000)])
        .values_list("name", flat=True)
        .distinct()
    )
    assert overlap in ({"A"}, {"B"})  # whole files, one after the other


def test_an_import_and_a_bulk_delete_at_once_leave_one_whole_outcome(api, worker):
    imported = upload(api, named_catalog(range(20_000), "A")).json()
    deleted = api.post("/api/products/bulk_delete/").json()
    imported, deleted = wait_for(api, imported), wait_for(api, deleted)

    assert imported["status"] == deleted["status"] == "COMPLETED"
    assert deleted["deleted_count"] in (0, 20_000)
    assert Product.objects.count() == 20_000 - deleted["deleted_count"]


def stored_job(kind: str, content: bytes = b"", **fields: Any) -> Job:
    """A job as the web would have made it, but whose task never reached a worker (lost)."""
    if kind == Job.Kind.IMPORT:
        fields["file"] = default_storage.save("uploads/lost.csv", ContentFile(content))
    return Job.objects.create(kind=kind, **fields)


def test_jobs_whose_tasks_were_lost_run_in_the_order_they_were_made(api, worker, settings):
    older = stored_job(Job.Kind.IMPORT, named_catalog(range(100), "A"))
    delete = stored_job(Job.Kind.BULK_DELETE)
    newer = wait_for(api, upload(api, named_catalog(range(50, 60), "B")).json())

    jobs = [Job.objects.get(pk=pk) for pk in (older.pk, delete.pk, newer["id"])]
    assert [j.status for j in jobs] == ["COMPLETED"] * 3
    starts = [j.started_at.timestamp() for j in jobs if j.started_at]
    assert len(starts) == 3
    assert starts == sorted(starts)
    assert (jobs[1].deleted_count, Product.objects.count()) == (100, 10)


def test_a_job_left_pending_without_a_task_is_queued_again_when_jobs_are_read(
    api, worker, settings
):
    lost = stored_job(Job.Kind.IMPORT, named_catalog(range(5), "A"))
    api.get("/api/jobs/")
    assert Job.objects.get(pk=lost.pk).status == "PENDING", "queued again before its grace"

    settings.JOB_REQUEUE_AFTER = 0
    assert api.get("/api/jobs/").status_code == 200
    done = wait_for(api, {"status_url": f"/api/job/{lost.pk}/status/"})
    assert (done["status"], done["created_count"]) == ("COMPLETED", 5)


def test_a_database_restart_is_not_taken_for_dead_workers(settings):
    started = lifecycle.database_started_at()
    before_restart = Job.objects.create(
        kind=Job.Kind.IMPORT, status=Job.Status.PROCESSING, heartbeat_at=started - timedelta(1)
    )
    age = (timezone.now() - started).total_seconds()

    settings.JOB_HEARTBEAT_TIMEOUT = int(age) + 60  # the database came back within the timeout
    lifecycle.fail_dead_jobs()
    assert Job.objects.get(pk=before_restart.pk).status == "PROCESSING"

    settings.JOB_HEARTBEAT_TIMEOUT = 1
    silent = Job.objects.create(
        kind=Job.Kind.BULK_DELETE,
        status=Job.Status.PROCESSING,
        heartbeat_at=timezone.now() - timedelta(seconds=5),
    )
    lifecycle.fail_dead_jobs()
    assert (
        Job.objects.get(pk=before_restart.pk).error_message
        == (lifecycle.DATABASE_LOST_ERRORS[Job.Kind.IMPORT])
    )
    assert Job.objects.get(pk=silent.pk).error_message == lifecycle.DEAD_WORKER_ERROR


def test_a_lost_connection_is_told_from_a_failed_statement():
    with (
        psycopg.connect(**psycopg_params()) as victim,
        psycopg.connect(**psycopg_params()) as other,
    ):
        other.execute("SELECT pg_terminate_backend(%s)", [victim.info.backend_pid])
        with pytest.raises(psycopg.Error) as terminated:
            victim.execute("SELECT 1")
        with pytest.raises(psycopg.Error) as cancelled:
            other.execute("SET statement_timeout = 1; SELECT pg_sleep(1)")
        other.rollback()
        with pytest.raises(psycopg.Error) as refused:
            other.execute("SELECT 1/0")

    assert connection_lost(terminated.value)
    assert not connection_lost(cancelled.value)
    assert not connection_lost(refused.value)
