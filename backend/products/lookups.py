"""`field__ilike=term`: a case-insensitive "contains" that pg_trgm GIN indexes can answer.

Django's own `icontains` compiles to `UPPER(col::text) LIKE UPPER(...)` on PostgreSQL, which no
trigram index serves; `col ILIKE '%term%'` is what `gin_trgm_ops` supports.
"""

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Lookup, TextField
from django.db.models.sql.compiler import SQLCompiler


def like_pattern(term: str) -> str:
    """`%term%` with LIKE's own wildcards in the term taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@CharField.register_lookup
@TextField.register_lookup
class ILike(Lookup):
    lookup_name = "ilike"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", (*lhs_params, *(like_pattern(str(p)) for p in rhs_params))
