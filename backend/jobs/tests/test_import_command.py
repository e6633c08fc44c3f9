import getpass

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from jobs.models import Job
from products.models import Product
from products.tests.upkeep import assert_search_table_exact

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_command_imports_prints_the_counts_and_syncs_search(tmp_path, capsys):
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name\nA-1,Lamp\na-1,Lamp two\nb-2,Chair\n,No SKU\n")

    call_command("import_products", str(path))

    out = capsys.readouterr().out
    assert "4 rows: 2 created, 0 updated, 0 unchanged, 1 repeated SKUs, 1 invalid." in out
    assert "  line 5: " in out
    assert sorted(Product.objects.values_list("sku", "name")) == [
        ("a-1", "Lamp two"),
        ("b-2", "Chair"),
    ]
    assert "Search table up to date (2 rows applied)" in out
    assert_search_table_exact()


def test_a_file_that_cannot_be_imported_is_a_command_error(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("name,price\nLamp,3\n")
    with pytest.raises(CommandError, match="no column is read as 'sku'"):
        call_command("import_products", str(path))
    assert not Product.objects.exists()
    assert Job.objects.get().status == "FAILED"


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_products", str(tmp_path / "nope.csv"))


def test_the_commands_import_is_a_job_of_its_user_that_can_be_reverted(tmp_path, capsys):
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name\nA-1,Lamp\n")
    alice = User.objects.create_user(username="alice")

    call_command("import_products", str(path), user="alice")

    job = Job.objects.get()
    assert (job.kind, job.status, job.created_by, job.created_by_name) == (
        "import",
        "COMPLETED",
        alice,
        "alice",
    )
    assert (job.file_name, job.created_count, job.file) == ("catalog.csv", 1, "")
    assert job.undo_until is not None
    assert f"Job {job.pk}, started by alice." in capsys.readouterr().out


def test_without_user_the_job_is_the_os_users(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name\nA-1,Lamp\n")

    call_command("import_products", str(path))

    job = Job.objects.get()
    assert (job.created_by, job.created_by_name) == (None, getpass.getuser())
