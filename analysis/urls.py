from django.urls import path

from analysis import views

app_name = "analysis"

urlpatterns = [
    path("surveys/<int:pk>/analysis/", views.analysis_page, name="analysis"),
    path("surveys/<int:pk>/analysis/status.json", views.analysis_status, name="analysis-status"),
]
