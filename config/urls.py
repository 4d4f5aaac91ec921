from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from analysis import api as analysis_api
from jtbd import api as jtbd_api
from surveys import api as surveys_api
from surveys import public_api, respondent_api
from workspaces import api as workspaces_api
from workspaces.auth import LockoutAdminAuthenticationForm, SignInView

router = DefaultRouter()
router.register("workspaces", workspaces_api.WorkspaceViewSet, basename="workspace")
router.register("jobs", jtbd_api.JobViewSet, basename="job")
router.register("steps", jtbd_api.JobStepViewSet, basename="step")
router.register("outcomes", jtbd_api.DesiredOutcomeViewSet, basename="outcome")
router.register("surveys", surveys_api.SurveyViewSet, basename="survey")
router.register("questions", surveys_api.QuestionViewSet, basename="question")
router.register("invitations", respondent_api.InvitationViewSet, basename="invitation")
router.register("responses", respondent_api.ResponseViewSet, basename="response")
router.register("runs", analysis_api.RunViewSet, basename="run")
router.register("segments", analysis_api.SegmentViewSet, basename="segment")

# The admin's sign-in counts failures and locks like the app's own (workspaces/auth.py).
admin.site.login_form = LockoutAdminAuthenticationForm

urlpatterns = [
    # The busiest route, first: every respondent's submission skips resolving the others.
    path(
        "api/public/surveys/<str:public_token>/responses/",
        public_api.PublicResponseView.as_view(),
        name="public-submit",
    ),
    path(
        "api/public/surveys/<str:public_token>/assignment/",
        public_api.PublicAssignmentView.as_view(),
        name="public-assignment",
    ),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
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
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page needs no inline
    # script under the Content-Security-Policy (config/security.py).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path("", include("analysis.urls")),
    path("", include("surveys.urls")),
    path("", include("jtbd.urls")),
    path("", include("workspaces.urls")),
]

# Unmatched URLs under /api/ answer JSON like the rest of the API (config/api.py).
handler404 = "config.api.not_found"
# A database lost in a middleware answers 503 like one lost in a view (config/faults.py).
handler500 = "config.faults.server_error"
