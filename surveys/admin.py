from django.contrib import admin

from surveys.models import (
    ErasureRecord,
    Invitation,
    Outbox,
    Question,
    Response,
    Survey,
    SurveyVersion,
)


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["title", "job", "status", "workspace", "created_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["title"]
    readonly_fields = ["public_token", "current_version"]
    inlines = [QuestionInline]


@admin.register(SurveyVersion)
class SurveyVersionAdmin(admin.ModelAdmin):
    list_display = ["survey", "number", "published_at", "content_hash"]
    readonly_fields = [
        "survey",
        "number",
        "content",
        "content_hash",
        "published_at",
        "published_by",
    ]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["survey", "external_id", "email", "created_at"]
    search_fields = ["external_id", "email"]
    readonly_fields = ["token"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["respondent_id", "survey", "status", "source", "completed_at", "flags"]
    list_filter = ["status", "source"]
    search_fields = ["respondent_id"]
    readonly_fields = ["ratings", "version", "invitation"]


@admin.register(Outbox)
class OutboxAdmin(admin.ModelAdmin):
    list_display = ["kind", "survey", "created_at", "dispatched_at", "processed_at", "attempts"]


@admin.register(ErasureRecord)
class ErasureRecordAdmin(admin.ModelAdmin):
    """The audit is read-only: it is evidence, so nobody edits or deletes it from here."""

    list_display = [
        "created_at",
        "survey_title",
        "scope",
        "by_username",
        "invitations",
        "responses",
        "analysis_runs",
        "exports",
    ]
    list_filter = ["scope"]
    search_fields = ["survey_title", "by_username"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
