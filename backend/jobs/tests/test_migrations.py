"""Migration 0006: imports from before options existed show the options they ran with."""

import pytest
from django.core.management import call_command

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def test_old_imports_get_the_options_they_ran_with_and_others_stay():
    call_command("migrate", "imports", "0005", verbosity=0)
    try:
        old = Job.objects.create(kind=Job.Kind.IMPORT, options={})
        given = {"on_error": "abort", "update_existing": False, "mapping": None, "profile": None}
        new = Job.objects.create(kind=Job.Kind.IMPORT, options=given)
        delete = Job.objects.create(kind=Job.Kind.BULK_DELETE, options={})
    finally:
        call_command("migrate", verbosity=0)

    old.refresh_from_db()
    new.refresh_from_db()
    delete.refresh_from_db()
    assert old.options == {
        "on_error": "skip",
        "update_existing": True,
        "mapping": None,
        "profile": None,
    }
    assert new.options == given
    assert delete.options == {}
