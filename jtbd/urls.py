from django.urls import path

from jtbd import transfer_views, views

app_name = "jtbd"

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/new/", views.job_create, name="job-create"),
    path("jobs/import/", transfer_views.job_import, name="job-import"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/edit/", views.job_edit, name="job-edit"),
    path("jobs/<int:pk>/delete/", views.job_delete, name="job-delete"),
    path("jobs/<int:pk>/approve-all/", views.job_approve_all, name="job-approve-all"),
    path("jobs/<int:pk>/approve-flagged/", views.job_approve_flagged, name="job-approve-flagged"),
    path("jobs/<int:pk>/check/", views.statement_check, name="statement-check"),
    path(
        "jobs/<int:pk>/export.json",
        transfer_views.job_export,
        {"fmt": "json"},
        name="job-export-json",
    ),
    path(
        "jobs/<int:pk>/export.csv", transfer_views.job_export, {"fmt": "csv"}, name="job-export-csv"
    ),
    path("jobs/<int:pk>/import-csv/", transfer_views.job_import_csv, name="job-import-csv"),
    path("jobs/<int:pk>/steps/new/", views.step_create, name="step-create"),
    path("jobs/<int:pk>/outcomes/new/", views.outcome_create, name="outcome-create"),
    path("steps/<int:pk>/edit/", views.step_edit, name="step-edit"),
    path("steps/<int:pk>/delete/", views.step_delete, name="step-delete"),
    path("steps/<int:pk>/move/", views.step_move, name="step-move"),
    path("outcomes/<int:pk>/edit/", views.outcome_edit, name="outcome-edit"),
    path("outcomes/<int:pk>/delete/", views.outcome_delete, name="outcome-delete"),
    path("outcomes/<int:pk>/move/", views.outcome_move, name="outcome-move"),
    path("outcomes/<int:pk>/approve/", views.outcome_approve, name="outcome-approve"),
]
