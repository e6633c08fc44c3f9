from typing import Any

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from .changes import CHANGE_COLUMNS
from .models import ImportProfile, Job, JobChange
from .options import ImportOptionsSerializer, MappingField
from .undo import preview_expired, revertible, undo_kept


class JobSerializer(serializers.ModelSerializer[Job]):
    created_by = serializers.SerializerMethodField(help_text="The username of who started it.")
    duration_s = serializers.SerializerMethodField(help_text="Seconds it ran (so far).")
    rows_per_s = serializers.SerializerMethodField(help_text="Rows a second (so far).")
    eta_s = serializers.SerializerMethodField(help_text="Seconds left, while it runs.")
    cancel_requested = serializers.SerializerMethodField()
    revertible = serializers.SerializerMethodField()
    revert_until = serializers.DateTimeField(source="undo_until", read_only=True, allow_null=True)
    reverts = serializers.UUIDField(source="reverts_id", read_only=True, allow_null=True)
    reverted_by = serializers.UUIDField(source="reverted_by_id", read_only=True, allow_null=True)
    cancel_url = serializers.SerializerMethodField()
    revert_url = serializers.SerializerMethodField()
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
            "preview_expires_at", "conflict_count", "duration_s", "rows_per_s", "eta_s",
            "cancel_requested", "reverts", "reverted_by", "revertible", "revert_until",
            "status_url", "events_url", "errors_url", "changes_url", "changes_csv_url",
            "apply_url", "cancel_url", "revert_url",
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

    def _changes_kept(self, job: Job) -> bool:
        """A preview's changes, or an import's (its before-images), while they are kept."""
        if job.dry_run:
            return self._preview_kept(job)
        return job.kind == Job.Kind.IMPORT and job.status == Job.Status.COMPLETED and undo_kept(job)

    def get_changes_url(self, job: Job) -> str | None:
        return self._url("job-changes", job) if self._changes_kept(job) else None

    def get_changes_csv_url(self, job: Job) -> str | None:
        return self._url("job-changes-csv", job) if self._changes_kept(job) else None

    def get_created_by(self, job: Job) -> str | None:
        return job.created_by_name or None

    def get_cancel_url(self, job: Job) -> str | None:
        return None if job.is_finished else self._url("job-cancel", job)

    def get_revert_url(self, job: Job) -> str | None:
        return self._url("job-revert", job) if revertible(job) else None

    def get_revertible(self, job: Job) -> bool:
        return revertible(job)

    def get_cancel_requested(self, job: Job) -> bool:
        return job.cancel_requested_at is not None and not job.is_finished

    def get_duration_s(self, job: Job) -> float | None:
        if job.started_at is None:
            return None
        end = job.finished_at or timezone.now()
        return round((end - job.started_at).total_seconds(), 1)

    def get_rows_per_s(self, job: Job) -> float | None:
        seconds = self.get_duration_s(job)
        rows = job.processed_rows or job.deleted_count
        if not seconds or not rows:
            return None
        return round(rows / seconds, 1)

    def get_eta_s(self, job: Job) -> float | None:
        """From the percent done so far, which covers every stage (parsing by bytes read)."""
        seconds = self.get_duration_s(job)
        if job.is_finished or not seconds or not 0 < job.percent < 100:
            return None
        return round(seconds * (100 - job.percent) / job.percent, 1)

    def get_apply_url(self, job: Job) -> str | None:
        return self._url("job-apply", job) if self._preview_kept(job) and job.file else None


class RevertSerializer(serializers.Serializer[Any]):
    force = serializers.BooleanField(
        default=False, help_text="Revert the products changed since too (the conflicts)."
    )


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
