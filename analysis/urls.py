from django.urls import path

from analysis import chart_views, compare_views, export_views, results_views, views

app_name = "analysis"

urlpatterns = [
    path("surveys/<int:pk>/results/", results_views.results_page, name="results"),
    path("surveys/<int:pk>/results/jobmap/", results_views.jobmap_page, name="jobmap"),
    path("surveys/<int:pk>/results/landscape/", results_views.landscape_page, name="landscape"),
    path("surveys/<int:pk>/results/segments/", results_views.segments_page, name="segments"),
    path("surveys/<int:pk>/results/loyalty/", results_views.loyalty_page, name="loyalty"),
    path("surveys/<int:pk>/results/compare/", compare_views.compare_page, name="compare"),
    path("surveys/<int:pk>/results/exports/", export_views.start_export, name="export-start"),
    path(
        "surveys/<int:pk>/results/exports/<int:job_id>/",
        export_views.export_job_page,
        name="export-job",
    ),
    path(
        "surveys/<int:pk>/results/exports/<int:job_id>/status.json",
        export_views.export_job_status,
        name="export-job-status",
    ),
    path(
        "surveys/<int:pk>/results/exports/<int:job_id>/download",
        export_views.export_job_download,
        name="export-job-download",
    ),
    path("surveys/<int:pk>/analysis/", views.analysis_page, name="analysis"),
    path("surveys/<int:pk>/analysis/status.json", views.analysis_status, name="analysis-status"),
    path(
        "surveys/<int:pk>/analysis/landscape.svg",
        chart_views.landscape_svg_view,
        name="landscape-svg",
    ),
    path(
        "surveys/<int:pk>/analysis/landscape.png",
        chart_views.landscape_png_view,
        name="landscape-png",
    ),
]
