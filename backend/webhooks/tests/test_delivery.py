"""Deliveries through the live Celery worker to a real receiver on 127.0.0.1.

The test session's worker runs with WEBHOOK_RETRY_SCHEDULE=0.2,0.5 (3 attempts),
WEBHOOK_TIMEOUT=2 and WEBHOOK_DISABLE_AFTER_FAILURES=3 (devstack/pytest_plugin.py).
"""

import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from standardwebhooks import Webhook as StandardWebhook

from webhooks.models import Delivery, Event, Webhook

from .helpers import Reply, create_product, subscribe, wait_for_deliveries

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

SAMPLE = Path(__file__).resolve().parents[3] / "products.csv"
ATTEMPTS = len(settings.WEBHOOK_RETRY_SCHEDULE) + 1


def verified(secret: str, request: Any) -> dict[str, Any]:
    payload: dict[str, Any] = StandardWebhook(secret).verify(request.body, request.headers)
    return payload


def wait_for_job(api, body: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = api.get(body["status_url"]).json()
        if job["status"] in {"COMPLETED", "FAILED"}:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_product_events_are_signed_and_delivered(api, worker, receiver):
    everything = subscribe(
        api, receiver.url("/all"), ["product.created", "product.updated", "product.deleted"]
    )
    deletions = subscribe(api, receiver.url("/deleted"), ["product.deleted"])
    subscribe(api, receiver.url("/off"), ["product.created"], enabled=False)

    created = create_product(api)
    assert wait_for_deliveries(1, event__type="product.created")
    updated = api.patch(f"/api/products/{created['id']}/", {"name": "Lamp"}, format="json").json()
    assert wait_for_deliveries(1, event__type="product.updated")
    assert api.delete(f"/api/products/{created['id']}/").status_code == 204
    deliveries = wait_for_deliveries(4)

    assert [(d.event.type, d.webhook_id, d.status, d.attempts) for d in deliveries] == [
        ("product.created", everything["id"], "succeeded", 1),
        ("product.updated", everything["id"], "succeeded", 1),
        ("product.deleted", everything["id"], "succeeded", 1),
        ("product.deleted", deletions["id"], "succeeded", 1),
    ]
    payloads = [verified(everything["secret"], r) for r in receiver.requests("/all")]
    assert [(p["type"], p["data"]) for p in payloads] == [
        ("product.created", created),
        ("product.updated", updated),
        ("product.deleted", updated),
    ]
    [deleted] = receiver.requests("/deleted")
    assert verified(deletions["secret"], deleted)["data"] == updated
    assert receiver.requests("/off") == []
    ids = [r.headers["webhook-id"] for r in receiver.requests()]
    assert len(set(ids)) == 3  # one per event, shared by the webhooks that get it
    assert {d.event.message_id for d in deliveries} == set(ids)
    webhook = Webhook.objects.get(pk=everything["id"])
    assert (webhook.last_status_code, webhook.consecutive_failures) == (200, 0)
    assert webhook.last_delivery_at is not None


def test_a_failed_product_write_sends_nothing(api, worker, receiver):
    subscribe(api, receiver.url(), ["product.created"])
    create_product(api, "TAKEN")
    wait_for_deliveries(1)
    response = api.post("/api/products/", {"name": "Again", "sku": "taken"}, format="json")
    assert response.status_code == 400
    time.sleep(0.5)
    assert Event.objects.count() == Delivery.objects.count() == 1  # the failed one left no row
    assert len(receiver.requests()) == 1


def test_a_500_is_retried_with_the_same_id_and_delivered_once(api, worker, receiver):
    receiver.script("/flaky", Reply(500, b"oops"), Reply(200, b"got it"))
    webhook = subscribe(api, receiver.url("/flaky"), ["product.created"])

    create_product(api)
    [delivery] = wait_for_deliveries(1)

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event.message_id
    assert first.body == second.body
    assert verified(webhook["secret"], first) == verified(webhook["secret"], second)
    assert (delivery.status, delivery.attempts, delivery.status_code) == ("succeeded", 2, 200)
    assert (delivery.error, delivery.response_excerpt) == ("", "got it")
    time.sleep(1)  # no further attempt comes
    assert len(receiver.requests()) == 2


def test_a_receiver_that_never_succeeds_gets_every_attempt(api, worker, receiver):
    receiver.script("/broken", Reply(500, b"x" * 5000))
    subscribe(api, receiver.url("/broken"), ["product.created"])

    create_product(api)
    [delivery] = wait_for_deliveries(1)

    assert (delivery.status, delivery.attempts, delivery.status_code) == (
        "failed",
        ATTEMPTS,
        500,
    )
    assert delivery.error == "HTTP 500 Internal Server Error"
    assert delivery.response_excerpt == "x" * 2048
    assert len({r.headers["webhook-id"] for r in receiver.wait_for(ATTEMPTS)}) == 1
    assert Webhook.objects.get().consecutive_failures == 1


def test_a_timeout_is_a_failed_attempt(api, worker, receiver):
    receiver.script("/slow", Reply(delay=settings.WEBHOOK_TIMEOUT + 1.5))
    url = receiver.url("/slow")
    subscribe(api, url, ["product.created"])

    create_product(api)
    [delivery] = wait_for_deliveries(1)

    assert (delivery.status, delivery.attempts, delivery.status_code) == ("failed", ATTEMPTS, None)
    timed_out = f"Timed out after {settings.WEBHOOK_TIMEOUT:g} s waiting for an answer from {url}."
    assert timed_out in delivery.error
    # While the URL gives no answer, attempts are paused rather than each holding a worker.
    assert 1 <= len(receiver.requests()) <= ATTEMPTS
    webhook = Webhook.objects.get()
    assert (webhook.last_status_code, webhook.last_error) == (None, timed_out)


def test_a_redirect_is_not_followed(api, worker, receiver):
    receiver.script("/moved", Reply(301, headers={"Location": receiver.url("/new-home")}))
    subscribe(api, receiver.url("/moved"), ["product.created"])

    create_product(api)
    [delivery] = wait_for_deliveries(1)

    assert (delivery.status, delivery.status_code) == ("failed", 301)
    assert delivery.error == (
        f"HTTP 301: redirects are not followed (Location: {receiver.url('/new-home')})."
    )
    assert receiver.requests("/new-home") == []


def test_a_webhook_is_disabled_after_consecutive_failed_deliveries(api, worker, receiver):
    receiver.script("/down", Reply(503))
    webhook = subscribe(api, receiver.url("/down"), ["product.created"])
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES

    for n in range(limit):
        create_product(api, f"SKU-{n}")
        wait_for_deliveries(n + 1)
    body = api.get(f"/api/webhooks/{webhook['id']}/").json()

    assert (body["enabled"], body["consecutive_failures"]) == (False, limit)
    assert body["disabled_reason"].startswith("Disabled on ")
    assert body["disabled_reason"].endswith(
        f"after {limit} deliveries in a row failed every attempt. "
        "Last error: HTTP 503 Service Unavailable"
    )
    create_product(api, "AFTER")
    time.sleep(0.5)
    assert Delivery.objects.count() == limit  # a disabled webhook gets no new deliveries

    enabled = api.patch(f"/api/webhooks/{webhook['id']}/", {"enabled": True}, format="json")
    assert enabled.json()["enabled"] is True
    assert (enabled.json()["disabled_reason"], enabled.json()["consecutive_failures"]) == ("", 0)


def test_the_delivery_log_and_redeliver(api, worker, receiver):
    webhook = subscribe(api, receiver.url(), ["product.created"])
    product = create_product(api)
    [delivery] = wait_for_deliveries(1)

    log = api.get(f"/api/webhooks/{webhook['id']}/deliveries/").json()

    assert log["count"] == 1
    [entry] = log["results"]
    assert entry == {
        "id": delivery.pk,
        "webhook": webhook["id"],
        "event": "product.created",
        "message_id": delivery.event.message_id,
        "status": "succeeded",
        "attempts": 1,
        "status_code": 200,
        "duration_ms": delivery.duration_ms,
        "error": "",
        "response_excerpt": "thanks",
        "payload": {
            "type": "product.created",
            "timestamp": entry["payload"]["timestamp"],
            "data": product,
        },
        "created_at": entry["created_at"],
        "updated_at": entry["updated_at"],
        "last_attempt_at": entry["last_attempt_at"],
        "next_attempt_at": None,
    }

    response = api.post(f"/api/webhooks/{webhook['id']}/deliveries/{delivery.pk}/redeliver/")

    assert response.status_code == 202, response.json()
    assert response.json()["message_id"] == delivery.event.message_id
    assert response.json()["status"] == "pending"
    wait_for_deliveries(2)
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert api.get(f"/api/webhooks/{webhook['id']}/deliveries/").json()["count"] == 2
    other = subscribe(api, receiver.url("/other"), ["product.created"])
    missing = api.post(f"/api/webhooks/{other['id']}/deliveries/{delivery.pk}/redeliver/")
    assert missing.status_code == 404


def test_an_import_sends_one_event_with_its_counts(api, worker, receiver):
    webhook = subscribe(api, receiver.url(), ["import.completed", "import.failed"])

    response = api.post(
        "/api/products/upload/",
        {"file": SimpleUploadedFile("products.csv", SAMPLE.read_bytes())},
        format="multipart",
    )
    job = wait_for_job(api, response.json())
    assert job["status"] == "COMPLETED"
    [delivery] = wait_for_deliveries(1)
    time.sleep(0.5)

    [request] = receiver.requests()
    payload = verified(webhook["secret"], request)
    assert payload["type"] == "import.completed"
    data = payload["data"]
    assert data["id"] == job["id"]
    assert (data["kind"], data["status"], data["file_name"]) == (
        "import",
        "COMPLETED",
        "products.csv",
    )
    counts = ["total_rows", "created_count", "updated_count", "invalid_count", "duplicate_count"]
    assert {k: data[k] for k in counts} == {k: job[k] for k in counts}
    assert data["total_rows"] == 1000
    assert delivery.event.type == "import.completed"
    assert Delivery.objects.count() == 1

    failed = api.post(
        "/api/products/upload/",
        {"file": SimpleUploadedFile("bad.csv", b"name,price\nLamp,3\n")},
        format="multipart",
    )
    assert wait_for_job(api, failed.json())["status"] == "FAILED"
    wait_for_deliveries(2)
    payload = verified(webhook["secret"], receiver.wait_for(2)[1])
    assert (payload["type"], payload["data"]["status"]) == ("import.failed", "FAILED")
    assert "sku" in payload["data"]["error_message"]


def test_a_bulk_delete_sends_one_event(api, worker, receiver):
    webhook = subscribe(api, receiver.url(), ["products.bulk_deleted", "product.deleted"])
    for n in range(3):
        create_product(api, f"GONE-{n}")

    job = wait_for_job(api, api.post("/api/products/bulk_delete/").json())
    assert job["status"] == "COMPLETED"
    [delivery] = wait_for_deliveries(1)

    assert delivery.event.type == "products.bulk_deleted"
    payload = verified(webhook["secret"], receiver.wait_for(1)[0])
    assert payload["type"] == "products.bulk_deleted"
    assert (payload["data"]["id"], payload["data"]["deleted_count"]) == (job["id"], 3)
    time.sleep(0.5)
    assert len(receiver.requests()) == 1


def test_deleting_a_webhook_drops_its_pending_deliveries(api, worker, receiver):
    receiver.script("/flaky", Reply(500))
    webhook = subscribe(api, receiver.url("/flaky"), ["product.created"])
    create_product(api)
    receiver.wait_for(1)
    assert api.delete(f"/api/webhooks/{webhook['id']}/").status_code == 204
    assert not Delivery.objects.exists()
    time.sleep(1)
    assert len(receiver.requests()) <= 2
