from django import forms
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


class QuestionAdminForm(forms.ModelForm):
    """The admin holds a question to the rules of the page and the API (`Question.define`):
    above all, a key in a published version cannot change."""

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        question = self.instance
        if question.survey_id is None:  # a survey being added: nothing is published yet
            return data
        definition = question.define(
            survey=question.survey,
            kind=data.get("kind"),
            text=data.get("text") or "",
            given_key=data.get("key"),
            options=data.get("options") or [],
            disqualifying=data.get("disqualifying") or [],
            screener=bool(data.get("screener")),
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
        )
        for field, message in definition.errors.items():
            self.add_error(field, message)
        data["key"] = definition.key
        data["options"], data["disqualifying"] = definition.options, definition.disqualifying
        return data


class QuestionInline(admin.TabularInline):
    model = Question
    form = QuestionAdminForm
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
