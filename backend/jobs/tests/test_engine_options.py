"""The engine's options (issue 16): header matching and mappings, rows equal to their product
left alone, create-only imports, abort on a bad row, and dry runs that record their changes and
write nothing. Against the real PostgreSQL, on small in-memory CSVs."""

import hashlib
import io
import re
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from core.db import psycopg_params
from jobs.engine import ImportFailed, ImportOptions
from jobs.engine.contract import SORTED_PERCENT, Reporter
from jobs.engine.header import ALIASES
from jobs.engine.staging import _sort_in_runs, compare_chunk_sql, copy_into_staging
from jobs.models import Job, JobChange
from products.models import Product
from products.tests.factories import make_product

from .test_engine import catalog, run

pytestmark = pytest.mark.django_db(transaction=True)


def outcome(result) -> dict[str, int]:
    return {
        "created": result.created_count,
        "updated": result.updated_count,
        "unchanged": result.unchanged_count,
        "skipped": result.skipped_count,
        "invalid": result.invalid_count,
        "duplicates": result.duplicate_count,
    }


def table_checksum() -> str:
    """Every column of every product, and the table's row versions: a write of any kind (even
    one that writes the same values) changes it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, sku, name, description, active, created_at, updated_at, xmin::text"
            " FROM products_product ORDER BY id"
        )
        return hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()


def changes(job_id: uuid.UUID) -> list[tuple[object, ...]]:
    return list(
        JobChange.objects.filter(job_id=job_id)
        .order_by("seq")
        .values_list(
            "seq",
            "action",
            "sku",
            "name",
            "description",
            "active",
            "previous_sku",
            "previous_name",
            "previous_description",
            "previous_active",
        )
    )


@pytest.mark.parametrize(
    "header",
    [
        "Product SKU,Product Name,Product Description,Is Active",
        "  ITEM_SKU , title ,details,enabled",
        "Item-Code,Item  Name,desc,published",
        "\ufeffsku,NAME,Description,ACTIVE",
    ],
)
def test_headers_match_by_name_in_any_case_and_by_alias(pg, header):
    result = run(pg, f"{header}\nLAMP-1,Lamp,Bright,false\n")

    assert result.created_count == 1
    assert catalog() == [("LAMP-1", "Lamp", "Bright", False)]


def test_a_mapping_names_the_columns_and_the_rest_are_guessed(pg):
    content = "Code,Label,Notes,sku\nLAMP-1,Lamp,Bright,ignored-sku\n"
    mapping = {"Code": "sku", "Label": "name", "sku": None}

    result = run(pg, content, options=ImportOptions(mapping=mapping))

    assert result.columns == ["Code", "Label", "Notes", "sku"]
    assert catalog() == [("LAMP-1", "Lamp", "", True)]  # "Notes" is no alias: ignored


def test_a_mapped_field_wins_over_a_column_named_after_it(pg):
    result = run(
        pg,
        "sku,Item Code,name\nold,NEW-1,Lamp\n",
        options=ImportOptions(mapping={"Item Code": "sku"}),
    )

    assert catalog() == [("NEW-1", "Lamp", "", True)]
    assert result.created_count == 1


@pytest.mark.parametrize(
    ("content", "mapping", "problem"),
    [
        ("Code,Label\nA,B\n", None, "no column is read as 'sku' or 'name'"),
        ("sku,title,name\nA,B,C\n", None, "the columns 'title' and 'name' are both read as name"),
        (
            "Code,Label\nA,B\n",
            {"Kode": "sku"},
            "the mapping names a column 'Kode' the file lacks",
        ),
        ("Code,Label\nA,B\n", {"Code": "sku"}, "no column is read as 'name'"),
    ],
)
def test_a_header_that_does_not_map_asks_for_a_mapping(pg, content, mapping, problem):
    make_product(sku="KEEP-1")
    before = table_checksum()

    with pytest.raises(ImportFailed) as failure:
        run(pg, content, options=ImportOptions(mapping=mapping))

    assert str(failure.value).startswith(f"Line 1: {problem} (columns: ")
    assert "Map the file's columns to sku and name" in str(failure.value)
    assert failure.value.needs_mapping
    assert failure.value.columns == content.splitlines()[0].split(",")
    assert table_checksum() == before


def test_rows_equal_to_their_product_are_left_alone(pg):
    run(pg, "sku,name,description,active\nLAMP-1,Lamp,Bright,false\nMUG-2,Mug,,true\n")
    before = table_checksum()

    again = run(pg, "sku,name,description,active\nLAMP-1,Lamp,Bright,false\nMUG-2,Mug,,true\n")

    assert outcome(again) == {
        "created": 0, "updated": 0, "unchanged": 2, "skipped": 0, "invalid": 0, "duplicates": 0,
    }  # fmt: skip
    assert table_checksum() == before  # not even rewritten with the same values


def test_only_a_real_change_counts_as_an_update(pg):
    run(pg, "sku,name,description,active\nLAMP-1,Lamp,Bright,false\nMUG-2,Mug,Tall,true\n")
    lamp_before = Product.objects.get(sku="LAMP-1").updated_at

    # No description or active column: those are kept, and not compared. The SKU's spelling is.
    result = run(pg, "sku,name\nLAMP-1,Lamp\nmug-2,Mug\nNEW-3,New\n")

    assert outcome(result) == {
        "created": 1, "updated": 1, "unchanged": 1, "skipped": 0, "invalid": 0, "duplicates": 0,
    }  # fmt: skip
    assert Product.objects.get(sku="LAMP-1").updated_at == lamp_before
    assert catalog() == [
        ("LAMP-1", "Lamp", "Bright", False),
        ("mug-2", "Mug", "Tall", True),
        ("NEW-3", "New", "", True),
    ]


def test_an_empty_active_cell_keeps_the_flag_and_is_no_change(pg):
    make_product(sku="LAMP-1", name="Lamp", description="", active=False)

    result = run(pg, "sku,name,active\nLAMP-1,Lamp,\n")

    assert (result.unchanged_count, result.updated_count) == (1, 0)
    assert catalog() == [("LAMP-1", "Lamp", "", False)]


def test_create_only_leaves_every_product_that_exists_alone(pg):
    make_product(sku="LAMP-1", name="Lamp", description="Old")
    before = Product.objects.values_list("id", "name", "description", "updated_at").get()

    result = run(
        pg,
        "sku,name,description\nlamp-1,Changed,New\nLAMP-1,Lamp,Old\nMUG-2,Mug,\n",
        options=ImportOptions(update_existing=False),
    )

    assert outcome(result) == {
        "created": 1, "updated": 0, "unchanged": 0, "skipped": 1, "invalid": 0, "duplicates": 1,
    }  # fmt: skip
    assert (
        Product.objects.values_list("id", "name", "description", "updated_at").get(sku="LAMP-1")
        == before
    )
    assert Product.objects.filter(sku="MUG-2").exists()


def test_abort_on_a_bad_row_imports_nothing_and_carries_every_bad_row(pg):
    make_product(sku="KEEP-1")
    before = table_checksum()
    content = "sku,name\nGOOD-1,Good\n,No SKU\nGOOD-2,Good\nBAD-3,\n"

    with pytest.raises(ImportFailed) as failure:
        run(pg, content, options=ImportOptions(on_error="abort"))

    assert str(failure.value).startswith("2 of 4 rows are not valid")
    assert [(e.line, e.reason) for e in failure.value.errors] == [
        (3, "empty sku"),
        (5, "empty name"),
    ]
    assert failure.value.invalid_count == 2
    assert not failure.value.needs_mapping
    assert table_checksum() == before


def test_a_nul_byte_or_an_over_long_field_is_a_bad_row_and_the_rest_imports(pg):
    content = (
        "sku,name,description\nGOOD-1,Good,\nNUL-2,Bad\x00name,\n"
        f'LONG-3,Long,"{"x" * 140_000}"\nGOOD-4,Good,\n'
    )

    result = run(pg, content)

    assert [(e.line, e.reason) for e in result.errors] == [
        (3, "a NUL byte in a field"),
        (4, "a field is longer than 131,072 characters (a quote left open?)"),
    ]
    assert [sku for sku, *_ in catalog()] == ["GOOD-1", "GOOD-4"]


def test_a_field_over_the_limit_names_the_lines_it_swallowed(pg):
    swallowed = "x\n" * 70_000
    content = f'sku,name,description\nGOOD-1,Good,\nOPEN-2,Open,"{swallowed}\nGOOD-3,Good,\n'

    result = run(pg, content)

    first, *rest = result.errors
    assert first.line == 3
    assert first.reason.startswith("a field is longer than 131,072 characters (a quote left open?)")
    assert "; lines 3-65,5" in first.reason  # 131,072 characters of "x\n": 65,536 lines
    # The lines past the limit are rows of their own, of one field each: bad rows too.
    assert {e.reason for e in rest} == {"expected 3 fields, found 1"}
    assert [sku for sku, *_ in catalog()] == ["GOOD-1", "GOOD-3"]


def test_a_header_without_rows_imports_nothing(pg):
    result = run(pg, "sku,name\n")

    assert result.total_rows == 0
    assert outcome(result) == dict.fromkeys(outcome(result), 0)


def make_preview_job() -> Job:
    return Job.objects.create(kind=Job.Kind.IMPORT, dry_run=True)


def test_a_dry_run_records_its_changes_and_writes_nothing(pg):
    make_product(sku="LAMP-1", name="Lamp", description="Old", active=False)
    make_product(sku="MUG-2", name="Mug", description="Same")
    make_product(sku="UNTOUCHED-9", name="Untouched")
    before = table_checksum()
    job = make_preview_job()
    content = (
        "sku,name,description\n"
        "lamp-1,Lamp,New\n"  # a new SKU spelling and description: update
        "MUG-2,Mug,Same\n"  # unchanged
        "NEW-3,New,Fresh\n"  # create
        "NEW-3,Newer,Fresher\n"  # the later row wins
        ",Bad,\n"
    )

    result = run(pg, content, changes_of=job.pk)

    assert outcome(result) == {
        "created": 1, "updated": 1, "unchanged": 1, "skipped": 0, "invalid": 1, "duplicates": 1,
    }  # fmt: skip
    assert table_checksum() == before
    assert changes(job.pk) == [
        (1, "update", "lamp-1", "Lamp", "New", False, "LAMP-1", "Lamp", "Old", False),
        (2, "create", "NEW-3", "Newer", "Fresher", True, None, None, None, None),
    ]


def test_a_dry_run_counts_what_the_import_then_does(pg):
    for n in range(30):
        make_product(sku=f"OLD-{n:02d}", name=f"Old {n}", description="same")
    content = (
        "sku,name,description,active\n"
        + "".join(
            f"old-{n:02d},Old {n},{'same' if n % 3 else 'changed'},{'' if n % 2 else 'true'}\n"
            for n in range(30)
        )
        + "".join(f"NEW-{n},New {n},,\n" for n in range(5))
    )
    job = make_preview_job()

    preview = run(pg, content, changes_of=job.pk)
    imported = run(pg, content)

    assert outcome(preview) == outcome(imported)
    assert len(changes(job.pk)) == preview.created_count + preview.updated_count


def test_a_create_only_dry_run_lists_only_creates(pg):
    make_product(sku="LAMP-1", name="Lamp")
    job = make_preview_job()

    result = run(
        pg,
        "sku,name\nLAMP-1,Changed\nMUG-2,Mug\n",
        changes_of=job.pk,
        options=ImportOptions(update_existing=False),
    )

    assert (result.created_count, result.skipped_count, result.updated_count) == (1, 1, 0)
    assert [row[1:3] for row in changes(job.pk)] == [("create", "MUG-2")]


def test_a_dry_run_that_fails_records_no_change(pg):
    job = make_preview_job()

    with pytest.raises(ImportFailed):
        run(pg, "sku,name\nA-1,A\n,B\n", changes_of=job.pk, options=ImportOptions(on_error="abort"))

    assert changes(job.pk) == []
    assert pg.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def ignore(progress: object) -> None:
    pass


def test_a_dry_run_looks_each_product_up_in_the_unique_index(pg):
    for n in range(200):
        make_product(sku=f"OLD-{n:03d}", name=f"Old {n}")
    job = make_preview_job()
    content = "sku,name\n" + "".join(f"old-{n:03d},Renamed {n}\n" for n in range(200))

    with pg.transaction(), pg.cursor() as cursor:
        parsed = copy_into_staging(
            cursor, io.BytesIO(content.encode()), None, Reporter(ignore, 60), ImportOptions()
        )
        _sort_in_runs(cursor, parsed.valid_rows, ignore)
        cursor.execute(
            "EXPLAIN " + compare_chunk_sql(source="import_runs"), ("", 10_000, True, job.pk, 0)
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        raise psycopg.Rollback  # the staging tables go with it

    # A scan of the whole catalog per chunk (the staged key's collation not the index's) doubles
    # a dry run's time at 466,693 products.
    assert "Index Scan using product_sku_key_unique on products_product" in plan, plan
    assert "Seq Scan on products_product" not in plan, plan


def test_deleting_a_job_deletes_its_changes_and_no_other(pg):
    kept, deleted = make_preview_job(), make_preview_job()
    for job in (kept, deleted):
        run(pg, "sku,name\nA-1,A\nB-2,B\n", changes_of=job.pk)

    Job.objects.filter(pk=deleted.pk).delete()

    assert not JobChange.objects.filter(job_id=deleted.pk).exists()
    assert len(changes(kept.pk)) == 2


def test_a_job_cannot_be_deleted_while_its_changes_are_recorded(pg):
    job = make_preview_job()
    attempts: list[int] = []

    def try_to_delete(progress):
        if progress.percent <= SORTED_PERCENT or attempts:
            return  # the job is locked once the comparing starts
        with psycopg.connect(**psycopg_params(), autocommit=True) as other:
            other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("DELETE FROM imports_job WHERE id = %s", (job.pk,))
        attempts.append(progress.percent)

    run(pg, "sku,name\nA-1,A\n", changes_of=job.pk, progress=try_to_delete, progress_interval=0)

    assert attempts
    assert len(changes(job.pk)) == 1


def test_a_dry_run_of_a_job_that_does_not_exist_records_nothing(pg):
    missing = uuid.uuid4()

    with pytest.raises(ValueError, match=f"there is no job {missing}"):
        run(pg, "sku,name\nA-1,A\n", changes_of=missing)

    assert changes(missing) == []


def test_the_dashboard_guesses_headers_with_the_same_aliases():
    """The dashboard's copy of the aliases (it guesses in the browser, before any upload) must
    be the engine's: what the form shows is what an import without a mapping does."""
    source = (settings.BASE_DIR.parent / "frontend/src/features/imports/columns.ts").read_text()
    block = re.search(r"const ALIASES[^=]*= \{(.*?)\n\};", source, re.DOTALL)
    assert block is not None
    dashboard = {
        field: tuple(re.findall(r'"([^"]+)"', names))
        for field, names in re.findall(r"(\w+): \[(.*?)\]", block.group(1), re.DOTALL)
    }
    assert dashboard == ALIASES
