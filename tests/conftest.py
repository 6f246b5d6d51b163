"""Shared pytest fixtures: the prefecture's content, and small named records."""
import pytest
from django.core.management import call_command


@pytest.fixture
def prefecture(db):
    """The prefecture's whole content, as `make run` loads it."""
    call_command("loaddata", "prefecture", verbosity=0)
