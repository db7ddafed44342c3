"""Console URL map."""

from django.urls import path

from linli.console import views

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("switch-community/", views.switch_community, name="switch_community"),
]
