from django.urls import path

from workspaces import views

app_name = "workspaces"

urlpatterns = [
    path("workspace/", views.workspace_settings, name="workspace-settings"),
    path("workspace/switch/", views.workspace_switch, name="workspace-switch"),
]
