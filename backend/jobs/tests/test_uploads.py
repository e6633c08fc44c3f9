import gzip
import io

from jobs.uploads import catalog_size, open_catalog

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
