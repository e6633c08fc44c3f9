"""Issue 17: cancelled jobs, reverts and their before-images, and who started each job by name.

The name is filled in for the jobs of users that still exist; the command line's jobs of before
had no job row at all.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def name_the_users(apps, schema_editor):
    Job = apps.get_model("imports", "Job")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    names = User.objects.filter(pk=models.OuterRef("created_by_id")).values("username")[:1]
    Job.objects.filter(created_by__isnull=False).update(created_by_name=models.Subquery(names))


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0006_old_imports_show_their_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="cancel_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="job",
            name="conflict_count",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="job",
            name="created_by_name",
            field=models.CharField(blank=True, default="", max_length=150),
        ),
        migrations.AddField(
            model_name="job",
            name="reverted_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="imports.job",
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="reverts",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="revert_jobs",
                to="imports.job",
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="undo_file",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.AddField(
            model_name="job",
            name="undo_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="jobchange",
            name="previous_created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="jobchange",
            name="previous_updated_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AlterField(
            model_name="job",
            name="kind",
            field=models.CharField(
                choices=[
                    ("import", "Import"),
                    ("bulk_delete", "Bulk Delete"),
                    ("revert", "Revert"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="status",
            field=models.CharField(
                choices=[
                    ("PENDING", "Pending"),
                    ("PROCESSING", "Processing"),
                    ("COMPLETED", "Completed"),
                    ("FAILED", "Failed"),
                    ("CANCELLED", "Cancelled"),
                ],
                default="PENDING",
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                fields=["created_by_name", "-created_at"], name="job_created_by_idx"
            ),
        ),
        migrations.RunPython(name_the_users, migrations.RunPython.noop),
    ]
