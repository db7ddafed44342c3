"""Bench endpoints under ``/bench/``, then every URL of the product."""

from django.urls import include, path

from bench.site import views
from linli import urls as linli_urls

urlpatterns = [
    path("bench/noop", views.noop, name="bench-noop"),
    path("bench/noop-post", views.noop_post, name="bench-noop-post"),
    path("bench/cached/<int:community_id>", views.cached_read, name="bench-cached"),
    path("bench/one-query/<int:community_id>", views.one_query_read, name="bench-one-query"),
    path("", include(linli_urls)),
]

handler403 = linli_urls.handler403
handler404 = linli_urls.handler404
handler500 = linli_urls.handler500
