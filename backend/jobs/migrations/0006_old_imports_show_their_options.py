"""Imports from before options existed (issue 16) show the options they ran with.

Every import then skipped bad rows, overwrote existing products and matched the header by name:
the defaults of `jobs.options`, written here as they were then. Their `options` was `{}`.
"""

from django.db import migrations

APPLIED_THEN = {"on_error": "skip", "update_existing": True, "mapping": None, "profile": None}


def fill(apps, schema_editor):
    Job = apps.get_model("imports", "Job")
    Job.objects.filter(kind="import", options={}).update(options=APPLIED_THEN)


class Migration(migrations.Migration):
    dependencies = [("imports", "0005_job_changes_cascade_by_trigger")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
