from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from analysis import api as analysis_api
from jtbd import api as jtbd_api
from surveys import api as surveys_api

router = DefaultRouter()
router.register("workspaces", jtbd_api.WorkspaceViewSet, basename="workspace")
router.register("jobs", jtbd_api.JobViewSet, basename="job")
router.register("steps", jtbd_api.JobStepViewSet, basename="step")
router.register("outcomes", jtbd_api.DesiredOutcomeViewSet, basename="outcome")
router.register("surveys", surveys_api.SurveyViewSet, basename="survey")
router.register("questions", surveys_api.QuestionViewSet, basename="question")
router.register("invitations", surveys_api.InvitationViewSet, basename="invitation")
router.register("responses", surveys_api.ResponseViewSet, basename="response")
router.register("runs", analysis_api.RunViewSet, basename="run")
router.register("segments", analysis_api.SegmentViewSet, basename="segment")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include(router.urls)),
    path(
        "api/surveys/<int:pk>/results/",
        analysis_api.SurveyAnalysisViewSet.as_view({"get": "results"}),
        name="survey-results",
    ),
    path(
        "api/surveys/<int:pk>/segments/",
        analysis_api.SurveyAnalysisViewSet.as_view({"get": "segments"}),
        name="survey-segments",
    ),
    path(
        "api/surveys/<int:pk>/compare/",
        analysis_api.SurveyAnalysisViewSet.as_view({"post": "compare"}),
        name="survey-compare",
    ),
    path(
        "api/surveys/<int:pk>/exports/",
        analysis_api.SurveyAnalysisViewSet.as_view({"get": "exports"}),
        name="survey-exports",
    ),
    path("api/statement-check/", jtbd_api.StatementCheckView.as_view(), name="statement-check"),
    path(
        "api/public/surveys/<str:public_token>/responses/",
        surveys_api.PublicResponseView.as_view(),
        name="public-submit",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("analysis.urls")),
    path("", include("surveys.urls")),
    path("", include("jtbd.urls")),
]
