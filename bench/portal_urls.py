"""The app's URLs plus a bare view: the baseline the portal page is measured against."""

from django.http import HttpResponse
from django.urls import include, path

from plixo.core.access import public


@public
def bare(request):
    return HttpResponse("<!doctype html><title>ok</title><p>ok</p>")


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("plixo.urls")),
]
