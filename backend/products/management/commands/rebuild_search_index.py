from typing import Any

from django.core.management.base import BaseCommand

from products import search


class Command(BaseCommand):
    help = "Rebuild the trigram search table from the catalog now, in this process."

    def handle(self, *args: Any, **options: Any) -> None:
        result = search.rebuild()
        state = "swapped in" if result.swapped else "superseded by a newer import, dropped"
        self.stdout.write(
            f"Search table: {result.rows} rows, {state}, {result.seconds:.1f} s"
            f" (writers waited {result.writers_blocked_seconds:.2f} s)."
        )
