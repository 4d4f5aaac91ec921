from django.contrib import admin

from jtbd.models import DesiredOutcome, Job, JobStep


class JobStepInline(admin.TabularInline):
    model = JobStep
    extra = 0
    fields = ["order", "stage", "title", "description"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["statement", "executor", "kind", "workspace", "updated_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["statement", "executor"]
    inlines = [JobStepInline]


@admin.register(JobStep)
class JobStepAdmin(admin.ModelAdmin):
    list_display = ["title", "stage", "order", "job"]
    list_filter = ["stage"]
    search_fields = ["title", "job__statement"]


@admin.register(DesiredOutcome)
class DesiredOutcomeAdmin(admin.ModelAdmin):
    list_display = ["code", "statement", "step", "status", "job"]
    list_filter = ["status", "job__workspace"]
    search_fields = ["code", "statement"]
    readonly_fields = ["direction", "metric", "object_of_control", "clarifier"]

    def save_model(self, request, obj, form, change) -> None:
        obj.set_statement(obj.statement)
        super().save_model(request, obj, form, change)
