"""Both roles read the import log; nobody edits it (it is a record)."""
from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # The new model's permissions are normally created after all migrations.
    poles = apps.get_app_config("poles")
    poles.models_module = True
    create_permissions(poles, apps=apps, verbosity=0)
    poles.models_module = None
    Group = apps.get_model("auth", "Group")
    view = apps.get_model("auth", "Permission").objects.get(content_type__app_label="poles", codename="view_importlog")
    for group in Group.objects.filter(name__in=["Éditeurs", "Administrateurs"]):
        group.permissions.add(view)


class Migration(migrations.Migration):
    dependencies = [("poles", "0004_import_log"), ("poles", "0003_roles")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
