"""`manage.py import_products FILE`: the import engine in this process, with a progress bar."""

import itertools
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from jobs.db import catalog_lock, job_connection
from jobs.engine import ImportFailed, Progress, import_products
from jobs.lifecycle import STAGE_MESSAGES
from jobs.uploads import CatalogTooLarge, catalog_size, open_catalog
from products.services import sync_search_now


class Command(BaseCommand):
    help = "Import a CSV (or .csv.gz) catalog now, in this process, and print the counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The .csv or .csv.gz file.")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        with tqdm(total=100, unit="%", file=self.stderr) as bar:

            def report(progress: Progress) -> None:
                bar.set_description(STAGE_MESSAGES[progress.stage])
                bar.set_postfix(rows=f"{progress.processed_rows:,}")
                bar.update(progress.percent - bar.n)

            def wait() -> None:
                bar.set_description("Waiting for the import or delete before this one")

            try:
                with (
                    file.open("rb") as raw,
                    job_connection() as conn,
                    catalog_lock(conn, wait),
                ):
                    size = catalog_size(cast(BinaryIO, raw), file.name)
                    source = open_catalog(cast(BinaryIO, raw), file.name)
                    result = import_products(conn, source, size_bytes=size, progress=report)
            except ImportFailed as exc:
                raise CommandError(f"{file}: {exc} Nothing was imported.") from exc
            except CatalogTooLarge as exc:
                raise CommandError(f"{file}: {exc}") from exc
        self.stdout.write(
            f"{result.total_rows:,} rows: {result.created_count:,} created, "
            f"{result.updated_count:,} updated, {result.unchanged_count:,} unchanged, "
            f"{result.duplicate_count:,} repeated SKUs, {result.invalid_count:,} invalid."
        )
        for error in itertools.islice(result.errors, 20):
            self.stdout.write(f"  line {error.line}: {error.reason}")
        if result.invalid_count > 20:
            self.stdout.write(f"  ... and {result.invalid_count - 20:,} more invalid rows.")
        self.stdout.write("Bringing the search table up to date...")
        synced = sync_search_now()
        how = "rebuilt" if synced.rebuilt else f"{synced.written + synced.removed:,} rows applied"
        self.stdout.write(f"Search table up to date ({how}) in {synced.seconds:.1f} s.")
