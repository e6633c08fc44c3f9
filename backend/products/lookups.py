"""Case-insensitive "contains" lookups that pg_trgm GIN indexes can answer.

Django's own `icontains` compiles to `UPPER(col::text) LIKE UPPER(...)` on PostgreSQL, which no
trigram index serves. `field__ilike=term` is `col ILIKE '%term%'`; `field__lower_contains=term`
is `col LIKE lower('%term%')` for columns stored lower-cased, several times cheaper per row than
ILIKE on UTF-8 text.
"""

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Lookup, TextField
from django.db.models.sql.compiler import SQLCompiler


def like_pattern(term: str) -> str:
    """`%term%` with LIKE's own wildcards in the term taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ContainsLookup(Lookup):
    template = ""

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        sql = self.template.format(lhs=lhs, rhs=rhs)
        return sql, (*lhs_params, *(like_pattern(str(p)) for p in rhs_params))


@CharField.register_lookup
@TextField.register_lookup
class ILike(ContainsLookup):
    lookup_name = "ilike"
    template = "{lhs} ILIKE {rhs}"


@TextField.register_lookup
class LowerContains(ContainsLookup):
    lookup_name = "lower_contains"
    template = "{lhs} LIKE lower({rhs})"
