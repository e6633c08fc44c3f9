import gzip
import io

import pytest

from jobs.uploads import RATIO_CHECKED_FROM, CatalogTooLarge, catalog_size, open_catalog

CSV = b"sku,name\n" + b"".join(b"sku-%d,Product %d\n" % (i, i) for i in range(5000))


def test_the_size_of_a_csv_is_its_length_and_the_stream_is_left_at_the_start():
    stream = io.BytesIO(CSV)
    assert catalog_size(stream, "catalog.csv") == len(CSV)
    assert open_catalog(stream, "catalog.csv").read() == CSV


def test_the_size_of_a_csv_gz_is_its_uncompressed_length():
    stream = io.BytesIO(gzip.compress(CSV))
    assert catalog_size(stream, "catalog.CSV.GZ") == len(CSV)
    assert open_catalog(stream, "catalog.CSV.GZ").read() == CSV


def test_an_unseekable_stream_has_no_known_size():
    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    assert catalog_size(Pipe(CSV), "catalog.csv") is None


def test_a_small_file_may_compress_very_well():
    """The ratio counts only past RATIO_CHECKED_FROM bytes of CSV."""
    content = b"sku,name\n" + b"same,Same\n" * (RATIO_CHECKED_FROM // 10 - 1)
    assert len(gzip.compress(content)) * 200 < len(content) <= RATIO_CHECKED_FROM
    assert open_catalog(io.BytesIO(gzip.compress(content)), "catalog.csv.gz").read() == content


def test_reading_stops_at_the_ratio_long_before_the_end():
    bomb = io.BytesIO(gzip.compress(b"sku,name\n" + b"same,Same\n" * 2_000_000))  # 20 MB
    catalog = open_catalog(bomb, "catalog.csv.gz")
    read = []

    def read_to_the_end() -> None:
        while chunk := catalog.read(8192):
            read.append(len(chunk))

    with pytest.raises(CatalogTooLarge, match=r"compresses more than 200:1"):
        read_to_the_end()
    assert sum(read) < 10 * RATIO_CHECKED_FROM


@pytest.mark.parametrize("name", ["catalog.csv", "catalog.csv.gz"])
def test_reading_everything_at_once_still_meets_max_import_bytes(settings, name):
    settings.MAX_IMPORT_BYTES = len(CSV) - 1
    stream = io.BytesIO(gzip.compress(CSV) if name.endswith(".gz") else CSV)
    with pytest.raises(CatalogTooLarge, match=f"than {len(CSV) - 1:,} bytes"):
        open_catalog(stream, name).read()
