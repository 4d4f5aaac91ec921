from django.urls import path

from analysis import results_views, views

app_name = "analysis"

urlpatterns = [
    path("surveys/<int:pk>/results/", results_views.results_page, name="results"),
    path("surveys/<int:pk>/results/jobmap/", results_views.jobmap_page, name="jobmap"),
    path("surveys/<int:pk>/analysis/", views.analysis_page, name="analysis"),
    path("surveys/<int:pk>/analysis/status.json", views.analysis_status, name="analysis-status"),
]
