from typing import Any

from django.urls import reverse
from rest_framework import serializers

from .changes import CHANGE_COLUMNS
from .lifecycle import preview_expired
from .models import ImportProfile, Job, JobChange
from .options import ImportOptionsSerializer, MappingField


class JobSerializer(serializers.ModelSerializer[Job]):
    status_url = serializers.SerializerMethodField()
    events_url = serializers.SerializerMethodField()
    errors_url = serializers.SerializerMethodField()
    changes_url = serializers.SerializerMethodField()
    changes_csv_url = serializers.SerializerMethodField()
    apply_url = serializers.SerializerMethodField()
    preview_expires_at = serializers.DateTimeField(
        source="expires_at", read_only=True, allow_null=True
    )
    # A string, not a UUID object: the live stream encodes the data with plain json.
    source_job = serializers.UUIDField(source="source_job_id", read_only=True, allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "stage", "message", "dry_run", "options", "total_rows",
            "processed_rows", "percent", "created_count", "updated_count", "unchanged_count",
            "skipped_count", "invalid_count", "duplicate_count", "deleted_count",
            "error_message", "needs_mapping", "file_columns", "file_name", "created_at",
            "started_at", "finished_at", "created_by", "automatic_retries", "source_job",
            "preview_expires_at", "status_url", "events_url", "errors_url", "changes_url",
            "changes_csv_url", "apply_url",
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

    def _preview_kept(self, job: Job) -> bool:
        return job.dry_run and job.status == Job.Status.COMPLETED and not preview_expired(job)

    def get_changes_url(self, job: Job) -> str | None:
        return self._url("job-changes", job) if self._preview_kept(job) else None

    def get_changes_csv_url(self, job: Job) -> str | None:
        return self._url("job-changes-csv", job) if self._preview_kept(job) else None

    def get_apply_url(self, job: Job) -> str | None:
        return self._url("job-apply", job) if self._preview_kept(job) and job.file else None


class JobChangeSerializer(serializers.ModelSerializer[JobChange]):
    class Meta:
        model = JobChange
        fields = CHANGE_COLUMNS
        read_only_fields = fields


class JobChangesPageSerializer(serializers.Serializer[Any]):
    """A page of a dry run's changes, in DRF's page-number shape (for the schema)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobChangeSerializer(many=True)


class ImportProfileSerializer(serializers.ModelSerializer[ImportProfile]):
    mapping = MappingField(
        required=False, help_text="A column of the file to sku, name, description, active or null."
    )

    class Meta:
        model = ImportProfile
        fields = [
            "id",
            "name",
            "mapping",
            "on_error",
            "update_existing",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_mapping(self, value: dict[str, str | None] | None) -> dict[str, str | None]:
        return value or {}


class UploadSerializer(ImportOptionsSerializer):
    """The upload form of the browsable API; the upload is checked by `services`."""

    file = serializers.FileField(help_text="A .csv or .csv.gz catalog.")
