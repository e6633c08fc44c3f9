import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="jobs",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterModelOptions(
            name="job",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("import_products", "Can import products from a file"),
                    ("delete_all_products", "Can delete all products"),
                    ("act_on_own_job", "Can retry, cancel, apply or revert the jobs it started"),
                    ("act_on_any_job", "Can retry, cancel, apply or revert anyone's jobs"),
                    ("view_any_job_files", "Can download the reports and files of anyone's jobs"),
                ],
            },
        ),
    ]
