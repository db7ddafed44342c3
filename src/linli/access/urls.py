"""URLs of the terminals' access API, mounted at ``/device/v1/access/``."""

from django.urls import path

from linli.access import http

app_name = "device_access"

urlpatterns = [
    path("decide", http.decide_view, name="decide"),
    path("keys", http.keys_view, name="keys"),
    path("allowlist", http.allowlist_view, name="allowlist"),
    path("events", http.events_view, name="events"),
]
