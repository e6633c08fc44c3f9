"""The formula escaping every CSV of the service shares (the export, the import's error report)."""

import io

import pytest

from core.csv_safety import SafeCsvWriter, spreadsheet_safe


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        ('=HYPERLINK("http://example.com")', '\'=HYPERLINK("http://example.com")'),
        ("plain", "plain"),
        ("1-2", "1-2"),
        ("a=b", "a=b"),
        ("'=already text", "'=already text"),
        ("", ""),
    ],
)
def test_a_cell_that_starts_a_formula_gets_an_apostrophe(value, written):
    assert spreadsheet_safe(value) == written


def test_the_writer_escapes_every_cell_and_writes_numbers_as_text():
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(["line", "reason", "fields"])
    writer.writerow([2, "-reason", "=1+2", "", "@cmd, with a comma"])
    assert buffer.getvalue() == (
        "line,reason,fields\r\n2,'-reason,'=1+2,,\"'@cmd, with a comma\"\r\n"
    )
