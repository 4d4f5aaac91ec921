from django.urls import path

from surveys import respondent_views, views

app_name = "surveys"

urlpatterns = [
    path("surveys/", views.survey_list, name="survey-list"),
    path("surveys/new/", views.survey_create, name="survey-create"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey-detail"),
    path("surveys/<int:pk>/settings/", views.survey_settings, name="survey-settings"),
    path("surveys/<int:pk>/outcomes/", views.survey_outcomes, name="survey-outcomes"),
    path("surveys/<int:pk>/questions/new/", views.question_edit, name="question-create"),
    path(
        "surveys/<int:pk>/questions/<int:question_pk>/", views.question_edit, name="question-edit"
    ),
    path(
        "surveys/<int:pk>/questions/<int:question_pk>/delete/",
        views.question_delete,
        name="question-delete",
    ),
    path("surveys/<int:pk>/publish/", views.survey_publish, name="survey-publish"),
    path("surveys/<int:pk>/close/", views.survey_close, name="survey-close"),
    path("surveys/<int:pk>/invitations/", views.invitations, name="invitations"),
    path("surveys/<int:pk>/invitations/erase/", views.invitations_erase, name="invitations-erase"),
    path("surveys/<int:pk>/invitations.csv", views.invitations_csv, name="invitations-csv"),
    path("surveys/<int:pk>/fieldwork/", views.fieldwork, name="fieldwork"),
    path("surveys/<int:pk>/responses/", views.responses, name="responses"),
    path("surveys/<int:pk>/import/", views.response_import, name="response-import"),
    # Respondent pages: public, no account.
    path("s/<str:token>/", respondent_views.public_survey, name="public"),
    path("i/<str:token>/", respondent_views.invitation_survey, name="invitation"),
]
