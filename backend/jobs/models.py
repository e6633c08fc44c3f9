"""A Job: one import, bulk delete or revert, its state and progress, read by the status endpoint."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Job(models.Model):
    class Kind(models.TextChoices):
        IMPORT = "import"
        BULK_DELETE = "bulk_delete"
        # Puts back what a completed import or bulk delete changed (`reverts`).
        REVERT = "revert"

    class Status(models.TextChoices):
        PENDING = "PENDING"
        PROCESSING = "PROCESSING"
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"
        CANCELLED = "CANCELLED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # A short machine word (queued, waiting, parsing, importing, deleting, reverting, done,
    # failed, cancelled) and its words (`lifecycle.STAGE_MESSAGES`).
    stage = models.CharField(max_length=20, default="queued")
    message = models.CharField(max_length=255, default="Queued")
    total_rows = models.BigIntegerField(null=True, blank=True)
    processed_rows = models.BigIntegerField(default=0)
    percent = models.PositiveSmallIntegerField(default=0)
    created_count = models.BigIntegerField(default=0)
    updated_count = models.BigIntegerField(default=0)
    unchanged_count = models.BigIntegerField(default=0)
    skipped_count = models.BigIntegerField(default=0)
    invalid_count = models.BigIntegerField(default=0)
    duplicate_count = models.BigIntegerField(default=0)
    deleted_count = models.BigIntegerField(default=0)
    # A revert: the products changed since the job it reverts, left as they are unless forced.
    conflict_count = models.BigIntegerField(default=0)
    error_message = models.TextField(blank=True, default="")
    # An import's options (`jobs.options`): on_error, update_existing, mapping, profile, as
    # applied. A dry run writes no product: it records the changes an import would make.
    dry_run = models.BooleanField(default=False)
    options = models.JSONField(default=dict, blank=True)
    # The file's header once read, and whether the job failed because it did not map.
    file_columns = models.JSONField(null=True, blank=True)
    needs_mapping = models.BooleanField(default=False)
    # A completed dry run keeps its file and its changes until then (PREVIEW_KEEP_HOURS).
    expires_at = models.DateTimeField(null=True, blank=True)
    # The dry run that an import applies (`POST /api/jobs/<id>/apply/`).
    source_job = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="applications"
    )
    # The job a revert puts back (an import or a bulk delete); one that failed or was
    # cancelled may be followed by another.
    reverts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="revert_jobs"
    )
    # The revert that put it back, set in that revert's own transaction.
    reverted_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Until when it can be reverted: its before-images (`jobs.undo`) are kept till then, then
    # pruned (UNDO_KEEP_DAYS). Null for a job that kept none, or whose were pruned.
    undo_until = models.DateTimeField(null=True, blank=True)
    # An import's writes' time: the `created_at` of every product it created (which needs no
    # before-image: `products.restore`), and their `updated_at` until they change.
    written_at = models.DateTimeField(null=True, blank=True)
    # A bulk delete's before-images: every product it deleted, a file in the default storage.
    undo_file = models.CharField(max_length=500, blank=True, default="")
    # Set by a cancel of a running job, until its worker stops it (`jobs.cancelling`).
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # The uploaded file in the default storage, and its name as the user gave it.
    file = models.CharField(max_length=500, blank=True, default="")
    file_name = models.CharField(max_length=255, blank=True, default="")
    # The per-row error report (CSV) in the default storage, once the import has run.
    errors_file = models.CharField(max_length=500, blank=True, default="")
    # Written by the worker while it runs the job, to tell a live job from a dead worker's.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its task was last queued (created, retried, queued again after it was lost): a job
    # PENDING for long after this has lost its task (`lifecycle.requeue_lost_jobs`).
    queued_at = models.DateTimeField(default=timezone.now)
    # Retries the worker queued by itself (after the database went away): at most one a job.
    automatic_retries = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who started it: the user, for the roles (an editor acts on its own jobs only, core.roles),
    # null for the command line's jobs and users since deleted; and the name it was shown by,
    # kept when the user goes (the command line's: `--user`, or the OS user).
    created_by_name = models.CharField(max_length=150, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["kind", "status", "-created_at"], name="job_kind_status_idx"),
            models.Index(fields=["created_by_name", "-created_at"], name="job_created_by_idx"),
        ]
        # The roles' permissions on jobs (core.roles); `view_job` reads any job's state.
        permissions = [
            ("import_products", "Can import products from a file"),
            ("delete_all_products", "Can delete all products"),
            ("act_on_own_job", "Can retry, cancel, apply or revert the jobs it started"),
            ("act_on_any_job", "Can retry, cancel, apply or revert anyone's jobs"),
            ("view_any_job_files", "Can download the reports and files of anyone's jobs"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status not in {self.Status.PENDING, self.Status.PROCESSING}


class JobChange(models.Model):
    """A product that a job changes, or that a dry run would: the row as written and the
    product as it was (previous_*, null for a create). Numbered in SKU order from 1 per job.
    An import's changes are the before-images of the products it updated: what its revert puts
    back (`jobs.undo`); those it created are found by its `written_at`.

    Written and removed in bulk by SQL (`jobs.engine.staging`, `jobs.services`): a trigger on
    the jobs deletes a deleted job's changes in the database, never Django's collector (a job
    may have half a million of them). No foreign key: its check per row was a third of a dry
    run's time (migration 0005).
    """

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"

    pk = models.CompositePrimaryKey("job_id", "seq")
    # Found by a BRIN index over (job_id, seq), not B-trees (migration 0008).
    job = models.ForeignKey(Job, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    seq = models.IntegerField()
    action = models.CharField(max_length=6, choices=Action.choices)
    product_id = models.BigIntegerField(null=True)
    sku = models.TextField()
    name = models.TextField()
    description = models.TextField()
    active = models.BooleanField()
    # Null for a create: the product did not exist (an empty description is "").
    previous_sku = models.TextField(null=True)  # noqa: DJ001
    previous_name = models.TextField(null=True)  # noqa: DJ001
    previous_description = models.TextField(null=True)  # noqa: DJ001
    previous_active = models.BooleanField(null=True)
    # An import's before-images only (null in a dry run's): what a revert puts back exactly.
    previous_created_at = models.DateTimeField(null=True)
    previous_updated_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["job", "seq"]

    def __str__(self) -> str:
        return f"{self.action} {self.sku}"


class ImportProfile(models.Model):
    """Saved options of an import: a mapping of a file's columns and what to do with bad rows
    and with products that exist. An upload names one as `profile`."""

    class OnError(models.TextChoices):
        SKIP = "skip"
        ABORT = "abort"

    name = models.CharField(max_length=100, unique=True)
    mapping = models.JSONField(default=dict, blank=True)
    on_error = models.CharField(max_length=5, choices=OnError.choices, default=OnError.SKIP)
    update_existing = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
