"""What the jobs tests share: the sample catalog, an upload through the API, waiting for a job."""

import time
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

SAMPLE = Path(__file__).resolve().parents[3] / "products.csv"
QUEUES = ("imports", "webhooks")


def upload(api, content: bytes, name: str = "catalog.csv") -> Any:
    return api.post(
        "/api/products/upload/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )


def wait_for(api, body: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = api.get(body["status_url"]).json()
        if job["status"] in {"COMPLETED", "FAILED", "CANCELLED"}:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.1)


def wait_until_worker_idle(timeout: float = 120) -> None:
    """Until the live worker has nothing queued, reserved, scheduled or running: no task of a
    test (the search rebuild after an import, say) may still run when the database is flushed
    after it."""
    from product_importer.celery import app

    inspector = app.control.inspect(timeout=1)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + timeout
    while (
        sum(broker.llen(queue) for queue in QUEUES)
        or any((inspector.active() or {}).values())
        or any((inspector.reserved() or {}).values())
        or any((inspector.scheduled() or {}).values())  # to run later (a countdown)
    ):
        assert time.monotonic() < deadline, "the worker is still busy after the test"
        time.sleep(0.1)
