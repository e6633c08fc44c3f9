"""What the jobs tests share: the sample catalog, an upload through the API, waiting for a job."""

import time
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

SAMPLE = Path(__file__).resolve().parents[3] / "products.csv"


def upload(api, content: bytes, name: str = "catalog.csv") -> Any:
    return api.post(
        "/api/products/upload/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )


def wait_for(api, body: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = api.get(body["status_url"]).json()
        if job["status"] in {"COMPLETED", "FAILED"}:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.1)
