"""`manage.py import_products FILE`: the import engine in this process, with a progress bar.

The import is a job like an upload's (in the history, with its error report, revertible), started
by `--user` or the OS user; it runs here, in its turn on the catalog, and can be cancelled from
the API or the dashboard like any other.
"""

import csv
import getpass
import io
import itertools
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from jobs.db import catalog_lock, job_connection
from jobs.engine import Progress
from jobs.kinds import product_import, run_or_cancel
from jobs.lifecycle import STAGE_MESSAGES, set_stage
from jobs.models import Job
from jobs.options import DEFAULTS
from jobs.running import watched
from products.services import sync_search_now

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = "Import a CSV (or .csv.gz) catalog now, in this process, and print the counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The .csv or .csv.gz file.")
        parser.add_argument(
            "--user", default="", help="Who the job is shown as started by (the OS user if not)."
        )

    def handle(self, *args: Any, file: Path, user: str, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        name = user or getpass.getuser()
        now = timezone.now()
        job = Job.objects.create(
            kind=Job.Kind.IMPORT,
            status=Job.Status.PROCESSING,
            stage="queued",
            file_name=file.name,
            created_by=User.objects.filter(username=name).first(),
            created_by_name=name,
            options=dict(DEFAULTS),
            started_at=now,
            heartbeat_at=now,
        )
        self.stdout.write(f"Job {job.pk}, started by {name}.")
        with tqdm(total=100, unit="%", file=self.stderr) as bar:

            def report(progress: Progress) -> None:
                bar.set_description(STAGE_MESSAGES[progress.stage])
                bar.set_postfix(rows=f"{progress.processed_rows:,}")
                bar.update(progress.percent - bar.n)

            def wait() -> None:
                bar.set_description(STAGE_MESSAGES["waiting"])
                set_stage(job, "waiting")

            with job_connection() as conn, watched(job, conn):

                def in_its_turn() -> None:
                    with catalog_lock(conn, wait):
                        product_import.run(job, conn, file=file, progress=report)

                run_or_cancel(job, conn, in_its_turn)
        job.refresh_from_db()
        if job.status != Job.Status.COMPLETED:
            raise CommandError(f"{file}: {job.error_message or job.message} Nothing was imported.")
        self.stdout.write(
            f"{job.total_rows:,} rows: {job.created_count:,} created, "
            f"{job.updated_count:,} updated, {job.unchanged_count:,} unchanged, "
            f"{job.duplicate_count:,} repeated SKUs, {job.invalid_count:,} invalid."
        )
        if job.errors_file:
            self.print_errors(job)
        self.stdout.write("Bringing the search table up to date...")
        synced = sync_search_now()
        how = "rebuilt" if synced.rebuilt else f"{synced.written + synced.removed:,} rows applied"
        self.stdout.write(f"Search table up to date ({how}) in {synced.seconds:.1f} s.")

    def print_errors(self, job: Job) -> None:
        """The first rows of the error report, and where the rest are."""
        with default_storage.open(job.errors_file, "rb") as stored:
            report = csv.reader(io.TextIOWrapper(stored, encoding="utf-8", newline=""))
            next(report)  # the header
            for line, reason, *_ in itertools.islice(report, SHOWN_ERRORS):
                self.stdout.write(f"  line {line}: {reason}")
        if job.invalid_count > SHOWN_ERRORS:
            self.stdout.write(f"  ... and {job.invalid_count - SHOWN_ERRORS:,} more invalid rows.")
        self.stdout.write(f"  All of them: /api/jobs/{job.pk}/errors.csv")
