"""URLs of the HTTP device API v1, mounted at ``/device/v1/``."""

from django.urls import path

from linli.devices import http

app_name = "device_v1"

urlpatterns = [
    path("messages", http.messages, name="messages"),
    path("commands", http.commands, name="commands"),
    path("schemas/", http.schema_index, name="schemas"),
    path("schemas/<str:name>.json", http.schema, name="schema"),
]
