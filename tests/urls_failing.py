"""The site's URLs plus one broken view, to see the 500 page a visitor would get."""
from django.urls import path

from portal.urls import handler500, urlpatterns as site_urlpatterns  # noqa: F401 - handler500 re-exported


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("boum/", broken), *site_urlpatterns]
