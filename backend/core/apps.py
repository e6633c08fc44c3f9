import contextlib
from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.contrib.auth.signals import user_login_failed
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        post_migrate.connect(ensure_role_groups_after_migrate, dispatch_uid="core.roles")
        # These import auth's models: not before the apps are ready.
        from . import access, tokens

        access.connect_signals()
        tokens.connect_signals()
        from .sign_in import log_failed_sign_in  # imports DRF's views: not before apps are ready

        user_login_failed.connect(log_failed_sign_in, dispatch_uid="core.sign_in")


def ensure_role_groups_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    """Make a role group that is missing again after `migrate` or `flush` (which empties the
    tables, as tests that commit do after each test); an existing group is left as it is.

    Django sends post_migrate once per app, and makes each app's permissions then: wait for the
    last app, when every permission exists.
    """
    last = [config for config in global_apps.get_app_configs() if config.models_module][-1]
    if sender.label != last.label:
        return
    from .roles import ensure_role_groups  # imports auth's models: not before apps are ready

    apps = kwargs.get("apps") or global_apps
    # LookupError: migrated back to before the roles' permissions; their migration makes them.
    with contextlib.suppress(LookupError):
        ensure_role_groups(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))
