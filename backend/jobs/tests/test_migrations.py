"""The jobs' data migrations: 0006 (imports from before options existed show the options they
ran with) and 0007 (each job names who started it). Rows are made with the models of the
migration before, as they were then."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def old_job_model(migration: str) -> Any:
    """The Job model as it was at `migration`, once the database is migrated back to it."""
    call_command("migrate", "imports", migration, verbosity=0)
    state = MigrationExecutor(connection).loader.project_state(("imports", migration))
    return state.apps.get_model("imports", "Job")


def test_old_imports_get_the_options_they_ran_with_and_others_stay():
    try:
        OldJob = old_job_model("0005_job_changes_cascade_by_trigger")
        old = OldJob.objects.create(kind="import", options={}).pk
        given = {"on_error": "abort", "update_existing": False, "mapping": None, "profile": None}
        new = OldJob.objects.create(kind="import", options=given).pk
        delete = OldJob.objects.create(kind="bulk_delete", options={}).pk
    finally:
        call_command("migrate", verbosity=0)

    assert Job.objects.get(pk=old).options == {
        "on_error": "skip",
        "update_existing": True,
        "mapping": None,
        "profile": None,
    }
    assert Job.objects.get(pk=new).options == given
    assert Job.objects.get(pk=delete).options == {}


def test_jobs_of_before_name_the_user_who_started_them():
    alice = User.objects.create_user(username="alice")
    try:
        OldJob = old_job_model("0006_old_imports_show_their_options")
        hers = OldJob.objects.create(kind="import", created_by_id=alice.pk).pk
        nobodys = OldJob.objects.create(kind="bulk_delete").pk
    finally:
        call_command("migrate", verbosity=0)

    assert Job.objects.get(pk=hers).created_by_name == "alice"
    assert Job.objects.get(pk=nobodys).created_by_name == ""
