"""A SKU's identity (`products.sku`): the table of tricky pairs decides which are one SKU, through
the API, the import and the `?sku=` filter; invisible characters are refused by both writers."""

import io
import sys
import unicodedata

import psycopg
import pytest
from django.db import connection

from jobs.engine import RowError, import_products
from products.models import Product, SearchIndexState
from products.sku import MAX_KEY_BYTES, python_key
from products.tests.factories import make_product

LIST = "/api/products/"

# Pairs that are one SKU to a user, and so one product.
ONE_SKU = [
    pytest.param("İSTANBUL", "i̇stanbul", id="dotted-capital-I"),  # İ folds to i + U+0307
    pytest.param("ΟΔΟΣ", "οδος", id="final-sigma"),
    pytest.param("CAF\u00c9", "CAFE\u0301", id="nfc-nfd"),  # a Mac's spreadsheet writes NFD
    pytest.param("STRASSE-1", "straße-1", id="sharp-s"),
    pytest.param("MASS", "Maß", id="sharp-s-lower"),
    pytest.param("\ufb01le-9", "FILE-9", id="fi-ligature"),  # NFKC
    pytest.param("\uff21\uff22\uff23-1", "abc-1", id="full-width"),  # NFKC
    pytest.param("\u212b-7", "\u00c5-7", id="angstrom-sign"),  # canonical singleton
    pytest.param("\u212a-7", "k-7", id="kelvin-sign"),
    pytest.param("A\u00a0B-1", "a b-1", id="no-break-space-inside"),  # NFKC
    pytest.param("  pad-1  ", "PAD-1", id="surrounding-spaces"),
    pytest.param("\u3000wide-1\u3000", "WIDE-1", id="ideographic-spaces"),
]
# Pairs that look alike or read alike but are two SKUs.
TWO_SKUS = [
    pytest.param("A-1", "A_1", id="hyphen-underscore"),
    pytest.param("O-1", "0-1", id="letter-O-zero"),
    pytest.param("l-1", "1-1", id="letter-l-one"),
    pytest.param("I-1", "\u0131-1", id="dotless-i"),  # no Turkish folding: dotless is not i
    pytest.param("CAFE", "CAFÉ", id="accent"),
    pytest.param("A-1", "A\u20131", id="hyphen-en-dash"),
    pytest.param("A1", "A 1", id="inner-space"),
]
# SKUs that are invalid, and the character the error names.
INVISIBLE = [
    pytest.param("Z\u200bW1", "U+200B ZERO WIDTH SPACE", id="zero-width-space"),
    pytest.param("A\u200cB", "U+200C ZERO WIDTH NON-JOINER", id="zwnj"),
    pytest.param("A\u200dB", "U+200D ZERO WIDTH JOINER", id="zwj"),
    pytest.param("A\u2060B", "U+2060 WORD JOINER", id="word-joiner"),
    pytest.param("\ufeffAB", "U+FEFF ZERO WIDTH NO-BREAK SPACE", id="bom"),
    pytest.param("A\u00adB", "U+00AD SOFT HYPHEN", id="soft-hyphen"),
    pytest.param("A\u202eB", "U+202E RIGHT-TO-LEFT OVERRIDE", id="bidi-override"),
    pytest.param("A\u2066B", "U+2066 LEFT-TO-RIGHT ISOLATE", id="bidi-isolate"),
    pytest.param("A\u200fB", "U+200F RIGHT-TO-LEFT MARK", id="rtl-mark"),
    pytest.param("A\tB", "U+0009", id="tab"),
    pytest.param("A\x7fB", "U+007F", id="delete"),
    pytest.param("A\x85B", "U+0085", id="next-line"),
    pytest.param("A\u2028B", "U+2028 LINE SEPARATOR", id="line-separator"),
    pytest.param("A\u2029B", "U+2029 PARAGRAPH SEPARATOR", id="paragraph-separator"),
]


def invisible_message(character: str) -> str:
    return f"holds a character that cannot be seen or printed ({character})"


def keys(*skus: str) -> list[str]:
    """The database's keys of `skus`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT products_sku_key(s) FROM unnest(%s::text[]) WITH ORDINALITY AS t (s, n)"
            " ORDER BY n",
            [list(skus)],
        )
        return [key for (key,) in cursor.fetchall()]


def import_csv(content: str) -> tuple[int, int, int, int, int, list[RowError]]:
    """(rows, created, updated, invalid, duplicates, errors) of an import of `content`."""
    connection.ensure_connection()
    conn = connection.connection
    assert isinstance(conn, psycopg.Connection)
    # A transactional test starts from flushed tables: the single rows the migrations create.
    SearchIndexState.objects.update_or_create(pk=1, defaults={"generation": 0})
    result = import_products(conn, io.BytesIO(content.encode()))
    return (
        result.total_rows,
        result.created_count,
        result.updated_count,
        result.invalid_count,
        result.duplicate_count,
        list(result.errors),
    )


def catalog() -> list[tuple[str, str]]:
    return list(Product.objects.order_by("id").values_list("sku", "name"))


def csv_field(value: str) -> str:
    return f'"{value}"'


# The key itself.


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), ONE_SKU)
def test_one_sku_pairs_have_one_key(first, second):
    assert keys(first) == keys(second)
    assert python_key(first) == python_key(second) == keys(first)[0]


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), TWO_SKUS)
def test_two_sku_pairs_have_two_keys(first, second):
    assert keys(first) != keys(second)
    assert python_key(first) != python_key(second)


@pytest.mark.django_db
def test_python_key_agrees_with_the_database_on_every_character():
    """Every code point Python's Unicode database assigns (but surrogates, private use and NUL),
    alone and after a letter, has the same key in Python as in PostgreSQL."""
    chars = [
        chr(code)
        for code in range(1, sys.maxunicode + 1)
        if unicodedata.category(chr(code)) not in {"Cs", "Cn", "Co"}
    ]
    skus = chars + [f"A{char}" for char in chars]
    assert len(skus) > 250_000
    database = keys(*skus)
    disagree = [
        (sku, db, python_key(sku))
        for sku, db in zip(skus, database, strict=True)
        if python_key(sku) != db
    ]
    assert disagree == []


@pytest.mark.django_db
def test_the_key_is_stable_under_itself():
    """The key of a key is the key: it is a canonical spelling of the SKU."""
    samples = ["İSTANBUL", "ΟΔΟΣ", "ᾼ-1", "\u0345x", "Å", "\ufb03", "\u2460", "ǅ-1", "ﷺ"]
    for sku in samples:
        [key] = keys(sku)
        assert keys(key) == [key], sku


@pytest.mark.django_db
def test_ascii_takes_a_shortcut_to_the_same_key():
    """Every pair of printable ASCII characters, and spaces and controls around them."""
    ascii_chars = [chr(code) for code in range(1, 128)]
    skus = [a + b for a in ascii_chars for b in ascii_chars]
    skus += [f"  {sku}  " for sku in skus[:2000]] + ["", " ", "\t A-1 \n"]
    assert keys(*skus) == [python_key(sku) for sku in skus]


@pytest.mark.django_db
def test_the_key_function_is_immutable_and_inlined_where_it_is_called():
    with connection.cursor() as cursor:
        cursor.execute("SELECT provolatile FROM pg_proc WHERE proname = 'products_sku_key'")
        assert cursor.fetchall() == [("i",)]
        cursor.execute(
            "SELECT data_type, generation_expression FROM information_schema.columns"
            " WHERE table_name = 'products_product' AND column_name = 'sku_key'"
        )
        assert cursor.fetchall() == [("text", "products_sku_key((sku)::text)")]
        # Inlined, the key is a plain expression per row, and a constant for the `?sku=` filter.
        cursor.execute("EXPLAIN VERBOSE SELECT products_sku_key(sku) FROM products_product")
        plan = "\n".join(line for (line,) in cursor.fetchall())
        assert "products_sku_key" not in plan
        assert "casefold" in plan
        # The index can serve the filter (on a table this small the planner may still rather
        # scan it, once statistics say it holds a row or two: seq scans are off for the test).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM products_product WHERE sku_key = products_sku_key('ABC-1')"
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())
        assert "product_sku_key_unique" in plan
        assert "'abc-1'::text" in plan


# Through the API.


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), ONE_SKU)
def test_the_api_refuses_the_second_spelling_of_a_sku(api, first, second):
    assert api.post(LIST, {"name": "First", "sku": first}, format="json").status_code == 201
    stored = first.strip()
    response = api.post(LIST, {"name": "Second", "sku": second}, format="json")
    assert response.status_code == 400
    given = second.strip()
    assert response.json() == {
        "sku": [
            f"A product with SKU '{given}' already exists (as '{stored}'): SKUs ignore letter "
            "case, Unicode forms and surrounding spaces."
        ]
    }
    assert catalog() == [(stored, "First")]


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), ONE_SKU)
def test_the_api_lets_a_product_respell_its_own_sku(api, first, second):
    product = make_product(sku=first.strip())
    response = api.patch(f"{LIST}{product.pk}/", {"sku": second}, format="json")
    assert response.status_code == 200
    assert response.json()["sku"] == second.strip()


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), TWO_SKUS)
def test_the_api_keeps_two_skus_apart(api, first, second):
    for sku in (first, second):
        assert api.post(LIST, {"name": sku, "sku": sku}, format="json").status_code == 201
    assert catalog() == [(first, first), (second, second)]


@pytest.mark.django_db
def test_the_api_trims_the_sku_and_the_name(api):
    response = api.post(LIST, {"name": "  Lamp \n", "sku": " \tLAMP-1\u3000"}, format="json")
    assert response.status_code == 201
    assert (response.json()["sku"], response.json()["name"]) == ("LAMP-1", "Lamp")
    assert Product.objects.get().sku_key == "lamp-1"


@pytest.mark.django_db
@pytest.mark.parametrize(("sku", "character"), INVISIBLE)
def test_the_api_refuses_invisible_and_control_characters(api, sku, character):
    response = api.post(LIST, {"name": "x", "sku": sku}, format="json")
    assert response.status_code == 400
    assert response.json() == {"sku": [f"The SKU {invisible_message(character)}."]}
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_the_api_names_several_invisible_characters_once_each(api):
    sku = "\u200bA\u200bB\u200cC\u00adD\u2060E"
    response = api.post(LIST, {"name": "x", "sku": sku}, format="json")
    assert response.json() == {
        "sku": [
            "The SKU holds characters that cannot be seen or printed (U+200B ZERO WIDTH SPACE, "
            "U+200C ZERO WIDTH NON-JOINER, U+00AD SOFT HYPHEN and 1 more)."
        ]
    }


@pytest.mark.django_db
def test_a_lone_surrogate_from_json_is_a_400_not_a_500(api):
    body = '{"name": "x", "sku": "A\\ud800B"}'
    response = api.generic("POST", LIST, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"sku": ["Surrogate characters are not allowed: U+D800."]}


@pytest.mark.django_db
def test_a_sku_whose_key_would_not_fit_the_index_is_a_400(api):
    sku = "\ufdfa" * 40  # NFKC spells each out in 18 letters
    response = api.post(LIST, {"name": "x", "sku": sku}, format="json")
    assert response.status_code == 400
    size = len(python_key(sku).encode())
    assert size > MAX_KEY_BYTES
    assert response.json() == {
        "sku": [
            f"The SKU is too long once normalized ({size:,} bytes of UTF-8 for its key, at most "
            f"{MAX_KEY_BYTES:,})."
        ]
    }
    # Printable but not ASCII, and short enough: fine.
    assert api.post(LIST, {"name": "x", "sku": "ﷺ" * 10}, format="json").status_code == 201


# Through the `?sku=` filter.


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), ONE_SKU)
def test_the_sku_filter_finds_a_product_by_either_spelling(api, first, second):
    make_product(sku=first.strip())
    make_product(sku="other-1")
    for spelling in (first, second):
        response = api.get(LIST, {"sku": spelling})
        assert [row["sku"] for row in response.json()["results"]] == [first.strip()]


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), TWO_SKUS)
def test_the_sku_filter_tells_two_skus_apart(api, first, second):
    make_product(sku=first)
    make_product(sku=second)
    for spelling in (first, second):
        response = api.get(LIST, {"sku": spelling})
        assert [row["sku"] for row in response.json()["results"]] == [spelling]


# Through the import.


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("first", "second"), ONE_SKU)
def test_an_import_makes_one_product_of_a_pair_and_the_last_row_wins(first, second):
    content = f"sku,name\n{csv_field(first)},First\nother-1,Other\n{csv_field(second)},Second\n"
    *counts, errors = import_csv(content)
    assert (counts, errors) == ([3, 2, 0, 0, 1], [])
    assert sorted(catalog()) == sorted([(second.strip(), "Second"), ("other-1", "Other")])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("first", "second"), ONE_SKU)
def test_an_import_overwrites_the_product_of_the_other_spelling(first, second):
    make_product(sku=first.strip(), name="Before")
    *counts, errors = import_csv(f"sku,name\n{csv_field(second)},After\n")
    assert (counts, errors) == ([1, 0, 1, 0, 0], [])
    assert catalog() == [(second.strip(), "After")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("first", "second"), TWO_SKUS)
def test_an_import_keeps_two_skus_apart(first, second):
    *counts, errors = import_csv(
        f"sku,name\n{csv_field(first)},First\n{csv_field(second)},Second\n"
    )
    assert (counts, errors) == ([2, 2, 0, 0, 0], [])
    assert sorted(catalog()) == sorted([(first, "First"), (second, "Second")])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("sku", "character"), INVISIBLE)
def test_an_import_sends_a_sku_with_an_invisible_character_to_the_error_report(sku, character):
    content = f"sku,name\nZW1,Plain\n{csv_field(sku)},Hidden\n"
    *counts, errors = import_csv(content)
    assert (counts, errors) == (
        [2, 1, 0, 1, 0],
        [RowError(3, f"sku {invisible_message(character)}", [sku, "Hidden"])],
    )
    assert catalog() == [("ZW1", "Plain")]


@pytest.mark.django_db(transaction=True)
def test_an_import_reports_a_sku_whose_key_would_not_fit_the_index():
    long_key = "\ufdfa" * 40
    content = f"sku,name\n{long_key},Long\n{'ﷺ' * 10},Fine\n"
    *counts, errors = import_csv(content)
    size = len(python_key(long_key).encode())
    assert (counts, [error.line for error in errors]) == ([2, 1, 0, 1, 0], [2])
    assert errors[0].reason == (
        f"sku is too long once normalized ({size:,} bytes of UTF-8 for its key, at most 1,024)"
    )
