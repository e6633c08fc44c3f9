from typing import Any

from django.core.management.base import BaseCommand

from products import search_upkeep


class Command(BaseCommand):
    help = "Rebuild the trigram search table from the catalog now, in this process."

    def handle(self, *args: Any, **options: Any) -> None:
        result = search_upkeep.rebuild()
        state = "swapped in" if result.swapped else "dropped: every product was deleted meanwhile"
        self.stdout.write(
            f"Search table: {result.rows:,} rows, {state}, {result.seconds:.1f} s"
            f" (the swap {result.swap_seconds:.2f} s)."
        )
