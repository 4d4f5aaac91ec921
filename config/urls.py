from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from jtbd import api as jtbd_api

router = DefaultRouter()
router.register("workspaces", jtbd_api.WorkspaceViewSet, basename="workspace")
router.register("jobs", jtbd_api.JobViewSet, basename="job")
router.register("steps", jtbd_api.JobStepViewSet, basename="step")
router.register("outcomes", jtbd_api.DesiredOutcomeViewSet, basename="outcome")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include(router.urls)),
    path("api/statement-check/", jtbd_api.StatementCheckView.as_view(), name="statement-check"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("surveys.urls")),
    path("", include("jtbd.urls")),
]
