"""How users get roles: the migration, `create_user`, `set_role`, `ensure_admin`, `migrate` after
a group went missing, and the Django admin's pages for users."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from core.roles import ADMIN, EDITOR, ROLE_NAMES, ROLE_PERMISSIONS, VIEWER, assign_role, role_of

pytestmark = pytest.mark.django_db


def groups_of(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def test_the_migration_gives_existing_users_a_role():
    """Superusers become admins, everyone else viewers (nobody gains a right); a user who has a
    role keeps it."""
    root = User.objects.create_superuser("root", password=None)
    plain = User.objects.create(username="plain")
    staff = User.objects.create(username="staff", is_staff=True)
    editor = User.objects.create(username="ed")
    assign_role(editor, EDITOR)
    Group.objects.filter(name__in=[VIEWER, ADMIN]).delete()
    migration = importlib.import_module("core.migrations.0001_roles")
    migration.create_roles(django_apps, connection.schema_editor())
    assert [groups_of(u) for u in (root, plain, staff, editor)] == [
        [ADMIN],
        [VIEWER],
        [VIEWER],
        [EDITOR],
    ]
    assert staff.is_staff  # left as it was: the admin pages then need permissions of its own


def test_migrate_makes_a_missing_role_group_again():
    Group.objects.filter(name=EDITOR).delete()
    call_command("migrate", verbosity=0)
    held = Group.objects.get(name=EDITOR).permissions.values_list(
        "content_type__app_label", "codename"
    )
    assert {f"{app}.{code}" for app, code in held} == ROLE_PERMISSIONS[EDITOR]


def test_create_user_with_a_role_and_a_password(capsys):
    call_command("create_user", "vera", "--role", "viewer", "--password", "a-long-pass-phrase")
    vera = User.objects.get(username="vera")
    assert (role_of(vera), vera.is_staff, vera.check_password("a-long-pass-phrase")) == (
        VIEWER,
        False,
        True,
    )
    assert capsys.readouterr().out == "Created vera (viewer).\n"


def test_create_user_can_make_up_the_password_and_print_it_once(capsys):
    call_command("create_user", "ada", "--role", "admin", "--generate-password", "--token")
    lines = capsys.readouterr().out.splitlines()
    ada = User.objects.get(username="ada")
    assert lines[0] == "Created ada (admin)."
    password = lines[1].removeprefix("Password: ").removesuffix(" (shown once: keep it now)")
    assert ada.check_password(password)
    assert lines[2] == f"Token: {Token.objects.get(user=ada).key}"
    assert (role_of(ada), ada.is_staff) == (ADMIN, True)  # admins reach /admin/


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["x", "--role", "boss", "--password", "a-long-pass-phrase"], "There is no role 'boss'"),
        (["alice", "--role", "editor", "--password", "a-long-pass-phrase"], "exists already"),
        (["x", "--role", "editor", "--password", "123"], "This password is too short"),
    ],
)
def test_create_user_refuses_in_words(user, args, words):
    with pytest.raises(CommandError, match=words):
        call_command("create_user", *args)
    assert not User.objects.filter(username="x").exists()


def test_create_user_without_a_terminal_needs_a_password(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="Give --password or --generate-password"):
        call_command("create_user", "x", "--role", "editor")


def test_set_role_moves_a_user_to_another_role(user, capsys):
    call_command("set_role", "alice", "editor")
    alice = User.objects.get(pk=user.pk)
    assert (groups_of(alice), alice.is_staff) == ([EDITOR], False)
    assert capsys.readouterr().out == "alice is now editor.\n"
    with pytest.raises(CommandError, match="There is no user 'bob'"):
        call_command("set_role", "bob", "editor")
    with pytest.raises(CommandError, match="There is no role 'root'"):
        call_command("set_role", "alice", "root")


def test_ensure_admin_makes_an_admin_in_the_admin_group(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    User.objects.create(username="admin")  # made before roles, say, and not a superuser
    call_command("ensure_admin", "--json")
    admin = User.objects.get(username="admin")
    assert (admin.is_superuser, admin.is_staff, groups_of(admin)) == (True, True, [ADMIN])


@pytest.mark.parametrize(("role", "status"), [(ADMIN, 200), (EDITOR, 302), (VIEWER, 302)])
def test_the_admin_pages_for_users_are_an_admins(role, status):
    someone = User.objects.create(username="someone")
    assign_role(someone, role)
    browser = Client()
    browser.force_login(someone)
    for page in (
        "/admin/auth/user/",
        f"/admin/auth/user/{someone.pk}/change/",
        "/admin/auth/group/",
    ):
        assert browser.get(page).status_code == status, page
    if role == ADMIN:  # the groups are the roles: read-only there
        assert browser.get("/admin/auth/group/add/").status_code == 403


def test_every_role_is_a_group():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_NAMES)
