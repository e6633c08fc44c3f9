from typing import Any

from django.urls import reverse
from rest_framework import serializers

from .models import Job


class JobSerializer(serializers.ModelSerializer[Job]):
    status_url = serializers.SerializerMethodField()
    events_url = serializers.SerializerMethodField()
    errors_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "stage", "message", "total_rows", "processed_rows",
            "percent", "created_count", "updated_count", "invalid_count", "duplicate_count",
            "deleted_count", "error_message", "file_name", "created_at", "started_at",
            "finished_at", "created_by", "automatic_retries", "status_url", "events_url",
            "errors_url",
        ]  # fmt: skip
        read_only_fields = fields

    def _url(self, name: str, job: Job) -> str:
        path = reverse(name, kwargs={"pk": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_status_url(self, job: Job) -> str:
        return self._url("job-status", job)

    def get_events_url(self, job: Job) -> str:
        return self._url("job-events", job)

    def get_errors_url(self, job: Job) -> str | None:
        return self._url("job-errors", job) if job.errors_file else None


class UploadSerializer(serializers.Serializer[Any]):
    """The upload form of the browsable API; the upload is checked by `services`."""

    file = serializers.FileField(help_text="A .csv or .csv.gz catalog.")
