"""Admin for analysis runs: read-only views of state and results (results come from runs only),
with the segment's custom name the one thing a researcher edits."""

from django.contrib import admin

from analysis.models import AnalysisRun, SegmentResult


class SegmentInline(admin.TabularInline):
    model = SegmentResult
    extra = 0
    can_delete = False
    fields = ["number", "name", "custom_name", "size", "share", "stability", "small_group"]
    readonly_fields = ["number", "name", "size", "share", "stability", "small_group"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AnalysisRun)
class AnalysisRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "survey",
        "status",
        "progress",
        "stage",
        "n_respondents",
        "created_at",
        "finished_at",
        "attempts",
    ]
    list_filter = ["status"]
    list_select_related = ["survey"]
    search_fields = ["survey__title", "task_id"]
    inlines = [SegmentInline]
    exclude = ["claim_token"]
    readonly_fields = [
        field.name
        for field in AnalysisRun._meta.get_fields()
        if field.concrete and field.name not in ("id", "claim_token")
    ]

    def has_add_permission(self, request) -> bool:
        return False  # runs are requested through the app, the API or `manage.py analyze`
