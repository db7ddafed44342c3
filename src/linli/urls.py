"""URL map: console, API, device API, health checks."""

from django.urls import include, path
from django.views.generic import RedirectView

from linli.api.base import api
from linli.biometrics import doors
from linli.console.views import passes
from linli.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("device/v1/access/", include("linli.access.urls")),
    path("device/v1/access/face", doors.face_view, name="device_face"),
    path("device/v1/access/face/challenge", doors.challenge_view, name="device_face_challenge"),
    path("device/v1/access/face/live", doors.face_live_view, name="device_face_live"),
    path("device/v1/access/voice", doors.voice_view, name="device_voice"),
    path("device/v1/", include("linli.devices.urls")),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("v/<str:token>/", passes.visitor_pass, name="visitor_pass"),
    path("v/<str:token>/code", passes.visitor_pass_code, name="visitor_pass_code"),
    path("", include("linli.console.urls")),
]

handler403 = "linli.console.views.error_403"
handler404 = "linli.console.views.error_404"
handler500 = "linli.console.views.error_500"
