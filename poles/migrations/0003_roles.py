"""The two roles of the portal's admin.

Éditeurs keep the content current: they add, change and view every content
record, and delete only key figures (harmless: history keeps them). They never
see users, groups or technical settings. Administrateurs also delete content
and manage accounts and login lockouts.
"""
from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Éditeurs"
ADMINISTRATORS = "Administrateurs"
CONTENT_MODELS = ["pole", "project", "theme", "territory", "keyfigure", "policyitem", "page"]


def content_permissions():
    codenames = {f"{action}_{model}" for model in CONTENT_MODELS for action in ("add", "change", "view")}
    codenames.discard("add_page")  # the site's pages are fixed by its addresses
    return codenames | {"delete_keyfigure"}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.set(Permission.objects.filter(content_type__app_label="poles", codename__in=content_permissions()))

    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    administrators.permissions.set(
        Permission.objects.filter(content_type__app_label__in=["poles", "auth", "axes"])
        .exclude(content_type__model__startswith="historical")
        .exclude(content_type__model="permission")
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[EDITORS, ADMINISTRATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("poles", "0002_history"),
        ("auth", "__latest__"),
        ("contenttypes", "__latest__"),
        ("axes", "__latest__"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
