"""The import engine on small in-memory CSVs, against the real PostgreSQL: exact rows and counts."""

import contextlib
import io
import random
import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from jobs import engine
from jobs.engine import (
    ImportFailed,
    ImportResult,
    Progress,
    RowError,
    contract,
    import_products,
    staging,
)
from jobs.models import Job, JobChange
from products import search, search_upkeep
from products.counts import product_total
from products.models import Product, ProductSearchPending, SearchIndexState
from products.tests.factories import make_product
from products.tests.upkeep import assert_search_table_exact, pending_ids, upkeep_paused

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "x" * 256


def run(conn: psycopg.Connection, content: str | bytes, **options) -> ImportResult:
    data = content.encode() if isinstance(content, str) else content
    return import_products(conn, io.BytesIO(data), **options)


def catalog() -> list[tuple[str, str, str, bool]]:
    return list(
        Product.objects.order_by("sku_key").values_list("sku", "name", "description", "active")
    )


def counts(result: ImportResult) -> tuple[int, int, int, int, int]:
    return (
        result.total_rows,
        result.created_count,
        result.updated_count,
        result.invalid_count,
        result.duplicate_count,
    )


def everything() -> tuple[list[tuple[object, ...]], ...]:
    """Every row of the catalog's tables, every column: to show that nothing changed."""
    tables = ["products_product", "products_productcountdelta", "products_searchindexstate"]
    with connection.cursor() as cursor:
        snapshot = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {table} ORDER BY id")
            snapshot.append(cursor.fetchall())
    return tuple(snapshot)


def test_new_products_are_created_active_with_exact_counts(pg):
    result = run(pg, "sku,name,description\nlamp-1,Desk Lamp,Bright.\nchair-2,Chair,\n")

    assert counts(result) == (2, 2, 0, 0, 0)
    assert list(result.errors) == []
    assert catalog() == [("chair-2", "Chair", "", True), ("lamp-1", "Desk Lamp", "Bright.", True)]
    for product in Product.objects.all():
        assert product.created_at == product.updated_at
        assert product.sku_key == product.sku.lower()


def test_bad_rows_are_reported_by_physical_line_and_the_rest_is_imported(pg):
    content = (
        "sku,name,description,active\n"  # 1
        "good-1,Good,Fine,\n"  # 2
        ",Nameless sku,d,\n"  # 3
        "no-name,  ,d,\n"  # 4
        "   ,Blank sku,d,\n"  # 5
        f"{LONG},Long sku,d,\n"  # 6
        f"long-name,{LONG},d,\n"  # 7
        '"multi-1",Lamp,"first line\nsecond line\nthird, ""quoted""",true\n'  # 8-10
        "nul-1,Bad\x00name,d,\n"  # 11
        "few-1,Too few,d\n"  # 12
        "many-1,Too many,d,true,extra\n"  # 13
        "active-1,Maybe,d,maybe\n"  # 14
        "\n"  # 15: blank, not a row
        'quote-1,"Bad"quote,d,\n'  # 16
        f"{'y' * 255},Longest,d, FALSE \n"  # 17
        ",,d,\n"  # 18
        'multi-2,,"spans\ntwo lines",\n'  # 19-20: reported on the line it starts on
        "last-1,Last,d,no"  # 21, no final newline
    )

    result = run(pg, content)

    assert list(result.errors) == [
        RowError(3, "empty sku", ["", "Nameless sku", "d", ""]),
        RowError(4, "empty name", ["no-name", "  ", "d", ""]),
        RowError(5, "empty sku", ["   ", "Blank sku", "d", ""]),
        RowError(6, "sku is longer than 255 characters (256)", [LONG, "Long sku", "d", ""]),
        RowError(7, "name is longer than 255 characters (256)", ["long-name", LONG, "d", ""]),
        RowError(11, "a NUL byte in a field", ["nul-1", "Bad\x00name", "d", ""]),
        RowError(12, "expected 4 fields, found 3", ["few-1", "Too few", "d"]),
        RowError(13, "expected 4 fields, found 5", ["many-1", "Too many", "d", "true", "extra"]),
        RowError(
            14,
            "invalid active value 'maybe' (use true/false, 1/0 or yes/no, or leave it empty)",
            ["active-1", "Maybe", "d", "maybe"],
        ),
        RowError(16, "not valid CSV: ',' expected after '\"'", []),
        RowError(18, "empty sku; empty name", ["", "", "d", ""]),
        RowError(19, "empty name", ["multi-2", "", "spans\ntwo lines", ""]),
    ]
    assert counts(result) == (16, 4, 0, 12, 0)
    assert catalog() == [
        ("good-1", "Good", "Fine", True),
        ("last-1", "Last", "d", False),
        ("multi-1", "Lamp", 'first line\nsecond line\nthird, "quoted"', True),
        ("y" * 255, "Longest", "d", False),
    ]


def test_every_bad_row_is_kept_past_memory_on_disk_and_cut_to_size(pg, monkeypatch):
    monkeypatch.setattr(contract, "ERRORS_IN_MEMORY_BYTES", 10_000)
    bad = 2_000
    content = (
        "sku,name\n"
        + "".join(f",nameless {n}\n" for n in range(bad))
        + "ok-1,Fine\n"
        + f"{LONG},{'n' * 5000}\n"
    )

    result = run(pg, content)

    assert result.invalid_count == len(result.errors) == bad + 1
    assert result.errors.on_disk
    errors = list(result.errors)
    assert [error.line for error in errors] == [*range(2, bad + 2), bad + 3]
    assert errors[bad - 1] == RowError(bad + 1, "empty sku", ["", f"nameless {bad - 1}"])
    # A kept row is cut to size, whatever the file holds.
    assert errors[-1].fields == [LONG, "n" * 1000]
    assert counts(result) == (bad + 2, 1, 0, bad + 1, 0)
    assert list(result.errors) == errors  # read again from the first


def test_last_row_wins_and_skus_differ_only_by_case(pg):
    content = (
        "sku,name,description\n"
        "ABC-1,First,one\n"
        "xyz-9,Other,kept\n"
        "abc-1,Second,two\n"
        "Abc-1,Third,three\n"
    )

    result = run(pg, content)

    assert counts(result) == (4, 2, 0, 0, 2)
    assert catalog() == [("Abc-1", "Third", "three", True), ("xyz-9", "Other", "kept", True)]


def test_existing_products_are_overwritten_and_keep_active_without_an_active_column(pg):
    lamp = make_product(sku="LAMP-1", name="Old lamp", description="old", active=False)
    make_product(sku="chair-2", name="Chair", description="chair", active=True)

    result = run(pg, "name,sku,description\nNew lamp,lamp-1,new\nStool,stool-3,\n")

    assert counts(result) == (2, 1, 1, 0, 0)
    assert catalog() == [
        ("chair-2", "Chair", "chair", True),
        ("lamp-1", "New lamp", "new", False),  # the file's spelling of the SKU
        ("stool-3", "Stool", "", True),
    ]
    updated = Product.objects.get(pk=lamp.pk)
    assert updated.created_at == lamp.created_at
    assert updated.updated_at > lamp.updated_at


def test_an_active_column_sets_the_flag_and_an_empty_cell_keeps_it(pg):
    for sku, active in [("a-1", False), ("b-2", True), ("c-3", False), ("d-4", True)]:
        make_product(sku=sku, name="Old", description="old", active=active)
    content = (
        "sku,name,description,active\n"
        "a-1,A,new,yes\n"
        "b-2,B,new,0\n"
        "c-3,C,new,\n"
        "d-4,D,new,  \n"
        "e-5,E,new,\n"
        "f-6,F,new,No\n"
        "g-7,G,new,TRUE\n"
        "h-8,H,new,tRuE\n"
    )

    result = run(pg, content)

    assert counts(result) == (8, 4, 4, 0, 0)
    assert catalog() == [
        ("a-1", "A", "new", True),
        ("b-2", "B", "new", False),
        ("c-3", "C", "new", False),
        ("d-4", "D", "new", True),
        ("e-5", "E", "new", True),
        ("f-6", "F", "new", False),
        ("g-7", "G", "new", True),
        ("h-8", "H", "new", True),
    ]


def test_without_a_description_column_existing_descriptions_are_kept(pg):
    make_product(sku="lamp-1", name="Lamp", description="Kept as it was.")

    result = run(pg, "sku,name\nlamp-1,Lamp 2\nchair-2,Chair\n")

    assert counts(result) == (2, 1, 1, 0, 0)
    assert catalog() == [
        ("chair-2", "Chair", "", True),
        ("lamp-1", "Lamp 2", "Kept as it was.", True),
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"sku,name,description\nA-1,Lamp,Bright\n",
        b"\xef\xbb\xbfsku,name,description\nA-1,Lamp,Bright\n",
        b"sku,name,description\r\nA-1,Lamp,Bright\r\n",
        b"\xef\xbb\xbfsku,name,description\r\nA-1,Lamp,Bright",
        b" Description ,PRICE, NAME ,Sku\nBright,9.99,Lamp,A-1\n",
        b'"sku","name","description"\n"A-1"," Lamp ","Bright"\n',
        b"sku,name,description\n\nA-1,Lamp,Bright\n\n\n",
    ],
    ids=["lf", "bom", "crlf", "bom-crlf-no-final-newline", "order-case-extra", "quoted", "blank"],
)
def test_encodings_line_ends_and_header_layouts(pg, content):
    result = run(pg, content)

    assert counts(result) == (1, 1, 0, 0, 0)
    assert catalog() == [("A-1", "Lamp", "Bright", True)]


def test_quoted_commas_quotes_and_newlines_are_kept_verbatim(pg):
    content = (
        "sku,name,description\r\n"
        'a-1,"Lamp, ""big""","Line one\r\nline two, with ""quotes""\nand a third"\r\n'
        "b-2,Café ☕,Ünïcödé\r\n"
        'c-3,Chair,"ends on the next line\r\n"\r\n'
        "d-4,After,all those lines\r\n"
    )

    result = run(pg, content)

    assert counts(result) == (4, 4, 0, 0, 0)
    assert catalog() == [
        ("a-1", 'Lamp, "big"', 'Line one\r\nline two, with "quotes"\nand a third', True),
        ("b-2", "Café ☕", "Ünïcödé", True),
        ("c-3", "Chair", "ends on the next line\r\n", True),
        ("d-4", "After", "all those lines", True),
    ]


MAP = (
    "Map the file's columns to sku and name (and optionally description and active), then import "
    "it again."
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
VALID_ROWS = b"sku,name\nlamp-1,Lamp\nchair-2,Chair\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"name,price\nLamp,3\n",
            f"Line 1: no column is read as 'sku' (columns: 'name', 'price'). {MAP}",
        ),
        (
            b"Colour , Price\n",
            f"Line 1: no column is read as 'sku' or 'name' (columns: 'Colour', 'Price'). {MAP}",
        ),
        (
            b"sku,name,SKU\n",
            "Line 1: the columns 'sku' and 'SKU' are both read as sku "
            f"(columns: 'sku', 'name', 'SKU'). {MAP}",
        ),
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf", "The file is empty."),
        (b"\nsku,name\n", "Line 1 is empty: the first line must name the columns (sku, name)."),
        (
            VALID_ROWS + b"cafe-3,Caf\xe9\n",
            f"Byte {len(VALID_ROWS) + 11} (line 4) is not UTF-8 (0xE9): "
            "the file must be CSV text in UTF-8.",
        ),
        (
            # Past the first chunks the decoder reads, and after quoted newlines.
            b"sku,name,description\n" + b'ok-1,Fine,"two\nlines"\n' * 2000 + b"bad-1,\xff\n",
            f"Byte {21 + 22 * 2000 + 7:,} (line {2 + 2 * 2000:,}) is not UTF-8 (0xFF): "
            "the file must be CSV text in UTF-8.",
        ),
        (
            VALID_ROWS + b"truncated,\xe2\x82",  # a character cut short at the end
            f"Byte {len(VALID_ROWS) + 11} (line 4) is not UTF-8 (0xE2): "
            "the file must be CSV text in UTF-8.",
        ),
        (PNG, "Byte 1 (line 1) is not UTF-8 (0x89): the file must be CSV text in UTF-8."),
        (
            b"\x00\x00\x00\x01\x02\n",
            "Line 1: no column is read as 'sku' or 'name' "
            f"(columns: '\\x00\\x00\\x00\\x01\\x02'). {MAP}",
        ),
        (
            b'sku,name,description\nok-1,Fine,x\nopen-2,Open,"never closed\nok-3,Fine,x\n',
            "Line 3: a quoted field in the row starting here is never closed "
            "(the file ends inside it).",
        ),
    ],
    ids=[
        "no-sku",
        "no-sku-no-name",
        "duplicate-column",
        "empty",
        "bom-only",
        "blank-header",
        "latin-1-after-valid-rows",
        "bad-byte-far-in",
        "cut-short",
        "binary",
        "control-bytes",
        "unclosed-quote",
    ],
)
def test_a_file_level_error_fails_the_import_and_changes_nothing(pg, content, message):
    make_product(sku="lamp-1", name="Lamp", description="Before", active=False)
    make_product(sku="keep-2", name="Keep", description="Before")
    before = everything()
    calls: list[Progress] = []

    with pytest.raises(ImportFailed) as failure:
        run(pg, content, progress=calls.append)

    assert str(failure.value) == message
    assert everything() == before
    assert pg.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert all(call.percent < 100 for call in calls)
    # Nothing is left behind: the next import on the same connection works.
    assert counts(run(pg, "sku,name\nnext-1,Next\n")) == (1, 1, 0, 0, 0)


def test_progress_goes_through_parsing_then_importing_counting_records_not_lines(pg):
    rows = [f'sku-{n},Name {n},"line one\nline two\nline three"' for n in range(5000)]
    rows += ["sku-1,Again,dup", ",bad,row"]
    content = ("sku,name,description\n" + "\n".join(rows) + "\n").encode()
    calls: list[Progress] = []

    result = run(pg, content, size_bytes=len(content), progress=calls.append, progress_interval=0)

    assert counts(result) == (5002, 5000, 0, 1, 1)
    stages = [call.stage for call in calls]
    assert stages == sorted(stages, key=["parsing", "importing"].index)
    parsing = [call for call in calls if call.stage == "parsing"]
    importing = [call for call in calls if call.stage == "importing"]
    assert parsing[0] == Progress("parsing", 0, None, 0)
    assert [call.processed_rows for call in parsing[1:]] == [2048, 4096, 5002]
    assert all(call.total_rows is None for call in parsing)
    # The invalid row is dealt with already.
    assert importing[0] == Progress("importing", 1, 5002, engine.PARSED_PERCENT)
    assert importing[-1] == Progress("importing", 5002, 5002, 100)
    assert all(call.total_rows == 5002 for call in importing)
    percents = [call.percent for call in calls]
    assert percents == sorted(percents)
    assert 0 < parsing[1].percent < parsing[2].percent < engine.PARSED_PERCENT


def test_progress_is_throttled_to_the_interval(pg, monkeypatch):
    """Between the calls that mark a stage's start and end, at most one per interval."""
    monkeypatch.setattr(staging, "FIRST_CHUNK_ROWS", 100)  # many chunks, each one a chance
    monkeypatch.setattr(staging, "MIN_CHUNK_ROWS", 100)
    monkeypatch.setattr(staging, "CHUNK_SECONDS", 0)
    calls: list[tuple[float, Progress]] = []

    def record(progress: Progress) -> None:
        calls.append((time.monotonic(), progress))

    content = "sku,name\n" + "".join(f"s-{n},N\n" for n in range(20_000))
    run(pg, content, progress=record, progress_interval=0.05)

    progress = [call for _, call in calls]
    assert progress[:1] == [Progress("parsing", 0, None, 0)]
    assert progress[-1] == Progress("importing", 20_000, 20_000, 100)
    boundaries = {0, len(calls) - 1}
    boundaries |= {i for i, call in enumerate(progress) if call.percent == engine.PARSED_PERCENT}
    throttled = [i for i in range(1, len(calls)) if i not in boundaries]
    assert throttled  # the upsert went through many chunks and reported some of them
    assert all(calls[i][0] - calls[i - 1][0] >= 0.05 for i in throttled)


def test_many_runs_and_chunks_count_exactly(pg, monkeypatch):
    """Small sorted runs and small chunks: the duplicates of a SKU spread over several runs, the
    chunks cut between SKUs, the two `active` INSERTs of each chunk; all counted exactly."""
    monkeypatch.setattr(staging, "RUN_ROWS", 500)
    monkeypatch.setattr(staging, "FIRST_CHUNK_ROWS", 37)
    monkeypatch.setattr(staging, "MIN_CHUNK_ROWS", 37)
    monkeypatch.setattr(staging, "CHUNK_SECONDS", 0)
    rng = random.Random(7)
    for n in range(0, 3000, 7):
        make_product(sku=f"SKU-{n}", name="Old", description="old", active=n % 2 == 0)
    existing = {p.sku_key: p.active for p in Product.objects.all()}
    lines: list[str] = []
    last: dict[str, tuple[str, str, str, str]] = {}  # the file's last row of each SKU
    for line in range(4000):
        n = rng.randrange(3000)
        sku = rng.choice([f"sku-{n}", f"SKU-{n}", f"Sku-{n}"])
        row = (sku, f"Name {line}", f"desc {line}", rng.choice(["", "yes", "no"]))
        lines.append(",".join(row))
        last[sku.lower()] = row

    calls: list[Progress] = []
    content = "sku,name,description,active\n" + "\n".join(lines)

    result = run(pg, content, progress=calls.append, progress_interval=0)

    importing = [call.processed_rows for call in calls if call.stage == "importing"]
    assert importing == sorted(importing)
    assert len(set(importing)) >= len(last) // 37  # a step per chunk
    assert importing[-1] == 4000
    created = len(last.keys() - existing.keys())
    assert counts(result) == (4000, created, len(last) - created, 0, 4000 - len(last))
    assert Product.objects.count() == len(existing) + created
    for sku, name, description, active in catalog():
        key = sku.lower()
        if key in last:
            file_sku, file_name, file_description, given = last[key]
            kept = existing.get(key, True)
            assert (sku, name, description) == (file_sku, file_name, file_description)
            assert active == (given == "yes" if given else kept)
        else:
            assert (name, description, active) == ("Old", "old", existing[key])


def test_an_import_marks_for_search_only_what_it_changed_and_keeps_the_count(pg):
    with upkeep_paused():
        make_product(sku="lamp-1", name="Lamp", description="")
        renamed = make_product(sku="chair-2", name="Chair", description="")
        ProductSearchPending.objects.all().delete()  # as if the upkeep had applied them
        content = "sku,name,description\nlamp-1,Lamp,\nchair-2,Armchair,\nstool-3,Stool,\n"

        run(pg, content)

        stool = Product.objects.get(sku="stool-3")
        assert pending_ids() == {renamed.pk, stool.pk}
        assert product_total() == Product.objects.count() == 3

        ProductSearchPending.objects.all().delete()
        run(pg, content)  # the same file again: nothing changes, nothing to apply
        assert pending_ids() == set()


def test_a_large_import_marks_the_whole_catalog_once_and_the_sync_rebuilds(pg, api):
    """An import past the share of the catalog that the upkeep rebuilds for marks no product one
    by one: it holds one mark for the whole catalog until it commits, searches then say they are
    catching up, and the next sync rebuilds and clears it (migration 0009)."""
    rows = search_upkeep.SYNC_BATCH_ROWS + 1
    lines = "".join(f"bulk-{n},Chair {n},\n" for n in range(1, rows))
    make_product(sku="lamp-1", name="Lamp", description="")
    search_upkeep.sync()
    rebuilt_before = last_rebuild()
    seen_during: list[search_upkeep.SyncResult] = []

    with contextlib.ExitStack() as paused:

        def sync_while_held(progress: Progress) -> None:
            if progress.percent == 100:  # the upsert done, the transaction not yet committed
                thread = threading.Thread(target=lambda: seen_during.append(sync_in_thread()))
                thread.start()
                thread.join(60)
                # From here on, no upkeep (the session's live worker runs any sync queued).
                paused.enter_context(upkeep_paused())

        content = f"sku,name,description\nlamp-1,Lamp,\nbulk-0,Chair 0,\n{lines}"
        result = run(pg, content, progress=sync_while_held)

        assert (result.created_count, result.unchanged_count) == (rows, 1)
        [during] = seen_during
        assert (during.pending, during.written, during.rebuilt) == (0, 0, None)
        assert pending_ids() == {search.WHOLE_CATALOG}
        assert product_total() == rows + 1
        response = api.get("/api/products/", {"search": "chair 17"})
        assert response.json()["search_catching_up"] is True
        assert response.json()["results"] == []  # the search table alone, from before the import

    search_upkeep.sync()  # after any upkeep that the live worker runs first

    assert last_rebuild() not in (None, rebuilt_before)
    assert_search_table_exact()
    response = api.get("/api/products/", {"search": "chair 17"})
    assert response.json()["search_catching_up"] is False
    assert "bulk-17" in [p["sku"] for p in response.json()["results"]]
    with upkeep_paused():
        run(pg, content)  # the same rows: nothing written, nothing marked
        assert pending_ids() == set()
        run(pg, f"sku,name,description\nlamp-1,Lamp,\nbulk-0,Renamed,\n{lines}")
        assert pending_ids() == {search.WHOLE_CATALOG}  # one product changed: a rebuild anyway
    search_upkeep.sync()
    assert_search_table_exact()


def last_rebuild() -> object:
    return SearchIndexState.objects.values_list("rebuilt_at", flat=True).first()


def sync_in_thread() -> search_upkeep.SyncResult:
    try:
        return search_upkeep.sync()
    finally:
        connections.close_all()


def test_an_import_of_nothing_valid_changes_nothing(pg):
    make_product(sku="lamp-1", name="Lamp")
    before = everything()

    result = run(pg, "sku,name\n,nameless\n")

    assert counts(result) == (1, 0, 0, 1, 0)
    assert everything() == before


def test_a_connection_out_of_autocommit_is_committed(pg):
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as conn:
        assert not conn.autocommit
        result = run(conn, "sku,name\nlamp-1,Lamp\n")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert counts(result) == (1, 1, 0, 0, 0)
        # Committed: another connection (Django's) sees it while this one is still open.
        assert catalog() == [("lamp-1", "Lamp", "", True)]


def test_a_connection_inside_a_transaction_is_refused(pg):
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(ValueError, match="needs an idle connection \\(it is INTRANS\\)"):
            run(conn, "sku,name\nlamp-1,Lamp\n")
    assert catalog() == []


class Cancelled(Exception):
    pass


def test_an_exception_from_the_progress_callback_rolls_everything_back(pg):
    make_product(sku="lamp-1", name="Lamp", description="Before")
    before = everything()

    def cancel(progress: Progress) -> None:
        if progress.percent == 100:  # the very last call, just before the commit
            raise Cancelled

    with pytest.raises(Cancelled):
        run(pg, "sku,name,description\nlamp-1,Changed,After\nchair-2,Chair,x\n", progress=cancel)

    assert everything() == before
    assert pg.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_two_imports_at_once_with_overlapping_skus_both_land_whole(pg):
    """One waits for the other's commit (the catalog lock): no deadlock, no lost or mixed rows."""
    first = "sku,name\n" + "".join(f"sku-{n},First {n}\n" for n in range(0, 20_000))
    second = "sku,name\n" + "".join(f"SKU-{n},Second {n}\n" for n in range(10_000, 30_000))
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    results: dict[str, ImportResult] = {}

    def import_file(label: str, content: str) -> None:
        with psycopg.connect(**params, autocommit=True) as conn:
            results[label] = run(conn, content)

    threads = [
        threading.Thread(target=import_file, args=("first", first)),
        threading.Thread(target=import_file, args=("second", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.keys() == {"first", "second"}
    # The one that committed last updated the 10,000 SKUs the files share.
    last, earlier = sorted(results, key=lambda label: results[label].updated_count, reverse=True)
    assert counts(results[last]) == (20_000, 10_000, 10_000, 0, 0)
    assert counts(results[earlier]) == (20_000, 20_000, 0, 0, 0)
    assert Product.objects.count() == product_total() == 30_000
    shared = Product.objects.filter(sku_key__in=[f"sku-{n}" for n in range(10_000, 20_000)])
    expected = "Second" if last == "second" else "First"
    assert {product.name.split()[0] for product in shared} == {expected}


def test_an_import_says_when_it_wrote_and_keeps_the_before_images_of_its_updates(pg):
    kept = make_product(sku="OLD-1", name="Old", description="Before")
    job = Job.objects.create(kind=Job.Kind.IMPORT)

    result = run(pg, "sku,name\nold-1,Renamed\nNEW-1,New\n", before_images_of=job.pk)

    # What it created carries its time, and needs no before-image; what it updated has one.
    assert result.written_at is not None
    assert set(Product.objects.filter(created_at=result.written_at).values_list("sku")) == {
        ("NEW-1",)
    }
    assert Product.objects.get(pk=kept.pk).updated_at == result.written_at
    change = JobChange.objects.get(job=job)
    assert (change.seq, change.action, change.product_id, change.sku, change.name) == (
        1,
        "update",
        kept.pk,
        "old-1",
        "Renamed",
    )
    assert (change.previous_sku, change.previous_name, change.previous_description) == (
        "OLD-1",
        "Old",
        "Before",
    )
    assert (change.previous_created_at, change.previous_updated_at) == (
        kept.created_at,
        kept.updated_at,
    )
    preview = Job.objects.create(kind=Job.Kind.IMPORT, dry_run=True)
    assert run(pg, "sku,name\nNEW-2,New\n", changes_of=preview.pk).written_at is None
