"""The search index follows every change of content: saves (admin, history
restores, imports row by row), deletions and changed relations. The import's
batch path, which bypasses save(), updates the index itself (resources.py)."""
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_delete

from . import search
from .models import PolicyItem, Pole, Project

INDEXED_MODELS = (*search.KIND_OF_MODEL, PolicyItem)


def record_saved(sender, instance, raw=False, **kwargs):
    if raw:
        search.update_index_on_commit(sender, instance.pk)
    else:
        search.update_index(sender, [instance.pk])


def record_deleting(sender, instance, **kwargs):
    """The records showing this one's text, found while its relations still exist."""
    instance._search_affected = search.affected(sender, [instance.pk])


def record_deleted(sender, instance, **kwargs):
    search.reindex(getattr(instance, "_search_affected", {}))


def relations_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """A pole's or project's themes and territories changed, from either side."""
    if reverse and action == "pre_clear":
        # The records losing this theme or territory are known only before.
        instance._search_cleared = search.affected(type(instance), [instance.pk])
    elif reverse and action == "post_clear":
        search.reindex(instance._search_cleared)
    elif action in ("post_add", "post_remove", "post_clear"):
        if reverse:
            search.update_index(model, pk_set)
        else:
            search.update_index(type(instance), [instance.pk])


def build_index_if_empty(sender, using, **kwargs):
    """An existing site gets its index at the migration that adds search."""
    from .models import SearchEntry

    if not SearchEntry.objects.using(using).exists() and any(
        source.queryset().using(using).exists() for source in search.SOURCES.values()
    ):
        search.rebuild()


def connect(app_config):
    for model in INDEXED_MODELS:
        post_save.connect(record_saved, sender=model, dispatch_uid=f"search-save-{model.__name__}")
        pre_delete.connect(record_deleting, sender=model, dispatch_uid=f"search-deleting-{model.__name__}")
        post_delete.connect(record_deleted, sender=model, dispatch_uid=f"search-deleted-{model.__name__}")
    for field in (*Pole._meta.many_to_many, *Project._meta.many_to_many):
        m2m_changed.connect(relations_changed, sender=field.remote_field.through,
                            dispatch_uid=f"search-m2m-{field.remote_field.through.__name__}")
    post_migrate.connect(build_index_if_empty, sender=app_config, dispatch_uid="search-build-if-empty")
