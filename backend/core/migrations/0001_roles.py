"""The role groups `viewer`, `editor` and `admin` (core.roles), and a role for every existing user.

Before roles, every signed-in user could do everything. Superusers become admins; everyone else
becomes a viewer, the safe default: nobody gains a right, and the rights the roles take away
(writing, importing, deleting all, webhooks) are refused in words, so that an admin can give
them back on purpose (`manage.py set_role NAME editor`, or the Users page of /admin/).
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations

from core.roles import ADMIN, ROLE_NAMES, VIEWER, ensure_role_groups


def create_roles(apps: Any, schema_editor: Any) -> None:
    # Django makes permissions after the whole migration run: make those the roles need now
    # (create_permissions skips an app whose models_module is unset, as in a migration's state).
    for config in apps.get_app_configs():
        models_module = getattr(config, "models_module", None)
        config.models_module = models_module or True
        try:
            create_permissions(config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        finally:
            config.models_module = models_module
    # Permissions of models that later migrations make are granted by those migrations.
    groups = ensure_role_groups(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), skip_missing=True
    )
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    without_role = user_model.objects.exclude(groups__name__in=ROLE_NAMES)
    for user in without_role:
        user.groups.add(groups[ADMIN if user.is_superuser else VIEWER])


def remove_roles(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("imports", "0002_job_created_by"),
        ("products", "0001_initial"),
        ("webhooks", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
