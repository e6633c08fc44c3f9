"""Before-images, kept for a revert: until when, whether a job can be reverted, and the prune.

An import keeps each product it creates or updates as one of its changes (`JobChange`, with the
product as it was: `jobs.engine`); a bulk delete keeps every product it deletes as a file in the
default storage (`undo_file`, binary COPY: `products.restore`). Both are kept UNDO_KEEP_DAYS
(`undo_until`), then pruned with the previews past PREVIEW_KEEP_HOURS (`prune_expired`), and are
used once: by the job's revert (`jobs.kinds.revert`).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import Job, JobChange

REVERTED_KINDS = frozenset({Job.Kind.IMPORT, Job.Kind.BULK_DELETE})
# The index that finds a job's changes (migration 0008).
CHANGES_INDEX = "imports_jobchange_job_seq_brin"


def undo_deadline() -> datetime | None:
    """Until when a job finishing now keeps its before-images; None if none are kept."""
    if settings.UNDO_KEEP_DAYS <= 0:
        return None
    return timezone.now() + timedelta(days=settings.UNDO_KEEP_DAYS)


def keeps_undo(job: Job) -> bool:
    """Whether the job, about to run, keeps before-images: an import or a bulk delete, not a
    dry run, unless UNDO_KEEP_DAYS is 0."""
    return job.kind in REVERTED_KINDS and not job.dry_run and settings.UNDO_KEEP_DAYS > 0


def undo_kept(job: Job) -> bool:
    return job.undo_until is not None and job.undo_until > timezone.now()


def revertible(job: Job) -> bool:
    """A completed import (not a dry run) or bulk delete, whose before-images are kept, that no
    revert has put back yet."""
    return (
        job.kind in REVERTED_KINDS
        and not job.dry_run
        and job.status == Job.Status.COMPLETED
        and job.reverted_by_id is None
        and undo_kept(job)
    )


def summarize_changes() -> None:
    """Summarize the changes written since the last summary in their BRIN index, and the table's
    statistics: until then, a page of a job's changes reads every page written since, or the
    whole table (autovacuum would do both, later). Run once an import or a dry run that
    recorded changes has ended: a page of them then takes milliseconds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT brin_summarize_new_values(%s::regclass)", [CHANGES_INDEX])
        cursor.execute(f"ANALYZE {JobChange._meta.db_table}")


def preview_expired(job: Job) -> bool:
    """A dry run past PREVIEW_KEEP_HOURS: it can no longer be applied, nor its changes read."""
    return job.expires_at is not None and job.expires_at <= timezone.now()


def prune_expired() -> int:
    """Remove what is kept past its time: the files and changes of dry runs past
    PREVIEW_KEEP_HOURS, and the before-images of jobs past UNDO_KEEP_DAYS; how many jobs."""
    now = timezone.now()
    # EXISTS, not a join: a job may have half a million changes.
    has_changes = Exists(JobChange.objects.filter(job=OuterRef("pk")))
    previews = (
        Job.objects.filter(dry_run=True, expires_at__lte=now)
        .filter(Q(file__gt="") | has_changes)
        .values_list("pk", "file")
    )
    undone = Job.objects.filter(undo_until__lte=now).values_list("pk", "undo_file")
    expired = [*previews, *undone]
    for pk, name in expired:
        if name:
            default_storage.delete(name)
        with transaction.atomic():
            JobChange.objects.filter(job_id=pk).delete()
            Job.objects.filter(pk=pk, dry_run=True).update(file="")
            Job.objects.filter(pk=pk, dry_run=False).update(undo_until=None, undo_file="")
    return len(expired)
