"""Cancel at every stage: a job that waits, an import mid-upsert, a bulk delete and a revert
mid-statement, a job cancelled as its worker claims it. Each ends CANCELLED within the cancel's
answer, with the catalog exactly as it was (a checksum of the whole table) and its file kept
for a retry; a job that ended, or completed first, is a 409."""

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.db import psycopg_params
from jobs import lifecycle
from jobs.db import CATALOG_LOCK_KEY, job_connection
from jobs.kinds import take_turns
from jobs.models import Job
from jobs.running import watched
from products.bulk import PRODUCT_TABLE
from products.tests.factories import make_product
from webhooks.models import Event
from webhooks.tests.helpers import subscribe

from .helpers import upload
from .test_job_lifecycle import big_catalog, sse_events
from .test_undo import catalog_checksum, run_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

ROWS = 20_000


def cancel(api, job: dict[str, Any]) -> dict[str, Any]:
    """Cancel the job; the answer, which waits up to 2.5 s for the worker, says CANCELLED."""
    response = api.post(f"/api/jobs/{job['id']}/cancel/")
    assert response.status_code == 202, response.json()
    body: dict[str, Any] = response.json()
    assert (body["status"], body["stage"], body["message"]) == (
        "CANCELLED",
        "cancelled",
        "Cancelled",
    )
    return body


@pytest.fixture
def products() -> tuple[int, str]:
    for number in range(3):
        make_product(sku=f"OLD-{number}", name=f"Old {number}")
    return catalog_checksum()


@pytest.fixture
def catalog_held() -> Iterator[psycopg.Connection[Any]]:
    """The catalog lock, held as another job would: the next job waits for its turn."""
    with psycopg.connect(**psycopg_params(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [CATALOG_LOCK_KEY])
        yield holder


def hold_mid_statement(job: dict[str, Any], stage: str) -> psycopg.Connection[Any]:
    """The products table locked (SHARE) until the job is at `stage`: its next write waits,
    inside its transaction, in the middle of a statement."""
    holder = psycopg.connect(**psycopg_params())
    holder.execute(f"LOCK TABLE {PRODUCT_TABLE} IN SHARE MODE")
    deadline = time.monotonic() + 60
    while not Job.objects.filter(pk=job["id"], stage=stage).exists():
        current = Job.objects.get(pk=job["id"])
        assert current.status in lifecycle.UNFINISHED, current.__dict__
        assert time.monotonic() < deadline, current.__dict__
        time.sleep(0.02)
    time.sleep(0.3)  # into its statement, waiting for the lock
    return holder


def test_a_waiting_import_is_cancelled_at_once_and_can_be_retried(
    api, worker, products, catalog_held
):
    subscribe(api, "http://127.0.0.1:9/hook", ["import.cancelled"])
    waiting = upload(api, b"sku,name\nNEW-1,New\n").json()
    assert waiting["cancel_url"].endswith(f"/api/jobs/{waiting['id']}/cancel/")

    cancelled = cancel(api, waiting)

    assert (cancelled["cancel_url"], cancelled["cancel_requested"]) == (None, False)
    stored = Job.objects.get(pk=waiting["id"])
    assert default_storage.exists(stored.file)  # kept for a retry
    assert Event.objects.filter(type="import.cancelled").count() == 1
    catalog_held.execute("SELECT pg_advisory_unlock(%s)", [CATALOG_LOCK_KEY])
    retried = api.post(f"/api/jobs/{waiting['id']}/retry/")
    assert retried.status_code == 202
    assert run_job(api, retried.json())["created_count"] == 1


def test_a_job_queued_behind_another_says_it_waits_for_it(api, worker, catalog_held):
    first = upload(api, b"sku,name\nA-1,A\n").json()
    second = upload(api, b"sku,name\nB-1,B\n").json()

    assert (first["stage"], first["message"]) == ("queued", "Queued")
    assert (second["stage"], second["message"]) == ("waiting", "Waiting for the job before it")
    for job in (first, second):
        cancel(api, job)


def test_an_import_cancelled_mid_upsert_leaves_the_catalog_exactly_as_it_was(api, worker, products):
    job = upload(api, big_catalog(ROWS), name="big.csv").json()
    holder = hold_mid_statement(job, "importing")
    try:
        cancelled = cancel(api, job)
    finally:
        holder.close()

    assert catalog_checksum() == products
    assert cancelled["percent"] > 0  # it had parsed the file
    assert default_storage.exists(Job.objects.get(pk=job["id"]).file)
    retried = run_job(api, api.post(f"/api/jobs/{job['id']}/retry/").json())
    assert retried["created_count"] == ROWS


def test_a_bulk_delete_cancelled_mid_delete_deletes_nothing_and_keeps_no_file(
    api, worker, products
):
    job = api.post("/api/products/bulk_delete/").json()
    holder = hold_mid_statement(job, "deleting")
    try:
        cancel(api, job)
    finally:
        holder.close()

    assert catalog_checksum() == products
    assert Job.objects.get(pk=job["id"]).undo_file == ""
    assert not default_storage.exists(f"undo/{job['id']}.copy")


def test_a_revert_cancelled_mid_revert_changes_nothing_and_can_run_again(api, worker, products):
    imported = run_job(api, upload(api, b"sku,name\nOLD-1,Renamed\nNEW-1,New\n").json())
    after_import = catalog_checksum()
    job = api.post(f"/api/jobs/{imported['id']}/revert/").json()
    holder = hold_mid_statement(job, "reverting")
    try:
        cancel(api, job)
    finally:
        holder.close()

    assert catalog_checksum() == after_import
    assert api.get(f"/api/jobs/{imported['id']}/").json()["revertible"] is True
    run_job(api, api.post(f"/api/jobs/{imported['id']}/revert/").json())
    assert catalog_checksum() == products


def test_a_job_cancelled_as_its_worker_claims_it_changes_nothing(pg, products):
    """The cancel lands after the claim and before the job's first step: its first progress
    record stops it (the path of every cancel between two statements)."""
    job = Job.objects.create(
        kind=Job.Kind.IMPORT,
        file=default_storage.save("uploads/claimed.csv", ContentFile(b"sku,name\nNEW-1,New\n")),
        file_name="claimed.csv",
        options={"on_error": "skip", "update_existing": True, "mapping": None, "profile": None},
        cancel_requested_at=timezone.now(),
    )

    take_turns()  # in this process

    job.refresh_from_db()
    assert (job.status, job.stage) == ("CANCELLED", "cancelled")
    assert catalog_checksum() == products
    assert default_storage.exists(job.file)


def test_the_watch_cancels_a_long_statement(pg):
    job = Job.objects.create(kind=Job.Kind.IMPORT, status=Job.Status.PROCESSING)
    threading.Timer(
        0.3, lambda: Job.objects.filter(pk=job.pk).update(cancel_requested_at=timezone.now())
    ).start()
    with job_connection() as conn, watched(job, conn), pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT pg_sleep(30)")  # would end without an error, after 30 s


def test_a_finished_job_is_a_409(api, worker):
    done = run_job(api, upload(api, b"sku,name\nA-1,A\n").json())

    response = api.post(f"/api/jobs/{done['id']}/cancel/")

    assert (response.status_code, response.json()) == (
        409,
        {"detail": "This job has ended (COMPLETED): there is nothing to cancel."},
    )


def test_a_job_that_completes_before_the_cancel_takes_effect_stays_completed(api):
    job = Job.objects.create(kind=Job.Kind.IMPORT, status=Job.Status.PROCESSING)
    threading.Timer(0.3, lifecycle.finish, args=(job,)).start()  # its worker, committing

    response = api.post(f"/api/jobs/{job.pk}/cancel/")

    assert (response.status_code, response.json()) == (
        409,
        {"detail": "The job finished before the cancel took effect: it stays COMPLETED."},
    )
    assert Job.objects.get(pk=job.pk).status == "COMPLETED"


def test_a_worker_that_does_not_answer_leaves_the_job_cancel_requested(api):
    job = Job.objects.create(kind=Job.Kind.IMPORT, status=Job.Status.PROCESSING)

    response = api.post(f"/api/jobs/{job.pk}/cancel/")

    assert response.status_code == 202
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("PROCESSING", True)
    # Asked again: the same answer, nothing more to do.
    assert api.post(f"/api/jobs/{job.pk}/cancel/").json()["cancel_requested"] is True


def test_the_history_filters_by_who_kind_and_status_in_pages(api, worker, user):
    for number in range(3):
        Job.objects.create(kind=Job.Kind.IMPORT, status="FAILED", created_by_name=f"u{number}")
    Job.objects.create(kind=Job.Kind.BULK_DELETE, status="CANCELLED", created_by_name="u1")

    assert api.get("/api/jobs/?created_by=u1").json()["count"] == 2
    assert api.get("/api/jobs/?created_by=u1&kind=import").json()["count"] == 1
    assert api.get("/api/jobs/?status=CANCELLED").json()["results"][0]["created_by"] == "u1"
    page = api.get("/api/jobs/?page_size=3").json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (4, 3, True)
    assert len(api.get(page["next"]).json()["results"]) == 1
    bad = api.get("/api/jobs/?status=LOST")
    assert bad.status_code == 400


def test_a_running_job_shows_its_rate_and_time_left(api):
    started = timezone.now() - timedelta(seconds=10)
    job = Job.objects.create(
        kind=Job.Kind.IMPORT,
        status=Job.Status.PROCESSING,
        started_at=started,
        heartbeat_at=timezone.now(),
        processed_rows=5000,
        percent=25,
    )

    body = api.get(f"/api/job/{job.pk}/status/").json()

    assert 10 <= body["duration_s"] < 12
    assert 400 < body["rows_per_s"] <= 500
    assert 30 <= body["eta_s"] < 36  # three times the time so far, for 75 % left
    lifecycle.finish(job)
    done = api.get(f"/api/job/{job.pk}/status/").json()
    assert done["eta_s"] is None
    assert done["duration_s"] >= 10  # to its end, now fixed


def test_the_event_stream_of_a_cancelled_job_ends_with_it(api, user, worker, live_server_url):
    token = Token.objects.get_or_create(user=user)[0].key
    job = upload(api, big_catalog(ROWS), name="big.csv").json()
    holder = hold_mid_statement(job, "importing")
    try:
        with requests.get(
            f"{live_server_url}/api/job/{job['id']}/events/",
            headers={"Authorization": f"Token {token}"},
            stream=True,
            timeout=60,
        ) as response:
            cancel(api, job)
            events = list(sse_events(response))  # the server ends the stream when the job ends
    finally:
        holder.close()

    assert (events[0]["status"], events[-1]["status"]) == ("PROCESSING", "CANCELLED")
