"""Researcher-written text is shown, never run: no script in any page or chart, no formula in any
spreadsheet export.

Every text a researcher (or an imported file) writes carries an HTML payload at its end and a
spreadsheet formula at its start: workspace, job, steps, outcomes, survey texts, questions and
their options, current solutions, imported profile answers and catalogue rows, a renamed
segment. Then every page the project routes (enumerated as in test_isolation), the landscape
chart, the API and every export are read back.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import xml.etree.ElementTree as ET

import openpyxl
import pandas as pd
import pyreadstat
import pytest
from django.test import Client
from rest_framework.test import APIClient

from jtbd.catalogue import FORMULA_PREFIXES
from tests.security.conftest import World, build_world
from tests.security.test_isolation import Kind, object_values, routes_of

pytestmark = pytest.mark.django_db

HTML_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</title><svg onload=alert(1)>",
]
FORMULA_PAYLOADS = ['=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(1)", "\t=1+1", "\r=1+1"]
# What must never reach a page unescaped.
RAW = ["<script>alert(1)", "<img src=x onerror", "<svg onload"]


def hostile() -> callable:
    """Each text starts with a formula and ends with markup, cycling through both lists."""
    formulas, markup = itertools.cycle(FORMULA_PAYLOADS), itertools.cycle(HTML_PAYLOADS)
    return lambda text: f"{next(formulas)} {text} {next(markup)}"


@pytest.fixture
def evil(db) -> World:
    return build_world("Evil Corp", hostile(), slug="evil")


@pytest.fixture
def web(evil) -> Client:
    client = Client()
    client.force_login(evil.owner)
    return client


@pytest.fixture
def api(evil) -> APIClient:
    client = APIClient()
    client.force_authenticate(evil.owner)
    return client


def assert_inert_html(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, (where, raw)


def assert_no_formula_cells(cells: list[str], where: str) -> None:
    """A text cell may not start like a formula; numbers (-0.5) are numbers."""
    for value in cells:
        if not isinstance(value, str) or not value:
            continue
        try:
            float(value)
            continue
        except ValueError:
            pass
        assert not value.startswith(FORMULA_PREFIXES), (where, value)


def csv_cells(body: bytes) -> list[str]:
    text = body.decode("utf-8-sig")
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


# --- imports carry the payloads too ---------------------------------------------------------------


def _import_hostile_catalogues(api: APIClient, world: World) -> None:
    rows = ["stage,step_title,code,statement"]
    for i, formula in enumerate(FORMULA_PAYLOADS):
        statement = f"Minimize the time it takes to {HTML_PAYLOADS[i % 3]} sign off"
        rows.append(f'define,"{formula} Imported step",X{i:03d},"{formula} {statement}"')
    upload = io.BytesIO("\n".join(rows).encode())
    upload.name = "catalogue.csv"
    response = api.post(
        f"/api/jobs/{world.job.pk}/import-csv/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content[:500]
    document = api.get(f"/api/jobs/{world.job.pk}/export/json/").json()
    document["job"]["statement"] = f"{FORMULA_PAYLOADS[0]} Imported job {HTML_PAYLOADS[0]}"
    response = api.post(f"/api/jobs/import/?workspace={world.workspace.pk}", document, "json")
    assert response.status_code == 201, response.content[:500]


# --- pages ----------------------------------------------------------------------------------------


def test_every_page_shows_researcher_text_escaped(evil, web, api):
    _import_hostile_catalogues(api, evil)
    pages = [*routes_of(Kind.OBJECT, api=False), *routes_of(Kind.COLLECTION, api=False)]
    shown = 0
    for route in pages:
        response = web.get(route.url(object_values(route, evil)))
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        assert_inert_html(html, str(route))
        shown += "&lt;script&gt;" in html
    assert shown >= 25, shown
    for url in ("/jobs/", f"/jobs/{evil.job.pk}/", f"/surveys/{evil.survey.pk}/results/"):
        html = web.get(url).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_the_segments_landscape_and_compare_pages_of_every_segment_are_escaped(evil, web):
    base = f"/surveys/{evil.survey.pk}/results"
    for url in (
        f"{base}/segments/",
        f"{base}/landscape/?segment={evil.segment.number}",
        f"{base}/?segment={evil.segment.number}",
        f"{base}/compare/?a=segment:{evil.segment.number}&b=rest",
        f"{base}/loyalty/",
        f"{base}/jobmap/",
    ):
        response = web.get(url)
        assert response.status_code == 200, url
        assert_inert_html(response.content.decode(), url)
    assert "Strugglers" in web.get(f"{base}/segments/").content.decode()


def test_respondent_pages_show_the_survey_text_escaped(evil):
    client = Client()
    for url in (evil.survey.public_path(), evil.invitation.path()):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_inert_html(html, url)
        assert "&lt;script&gt;" in html or "&lt;/title&gt;" in html or "&quot;&gt;" in html
        # The next page (profile questions, their options) after consenting.
        page = client.post(url, {"page": 0, "consent": "on"}, follow=True)
        assert_inert_html(page.content.decode(), url)


# --- the chart ------------------------------------------------------------------------------------


def test_the_landscape_svg_has_no_script_or_event_handler_and_the_png_renders(evil, web):
    for query in ("", f"?segment={evil.segment.number}"):
        response = web.get(f"/surveys/{evil.survey.pk}/analysis/landscape.svg{query}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("image/svg+xml")
        root = ET.fromstring(response.content)
        for element in root.iter():
            tag = element.tag.rsplit("}", 1)[-1].lower()
            assert tag not in ("script", "foreignobject", "iframe"), tag
            for name, value in element.attrib.items():
                attr = name.rsplit("}", 1)[-1].lower()
                assert not attr.startswith("on"), (tag, attr, value)
                assert not value.strip().lower().startswith("javascript:"), (tag, attr)
        assert b"&lt;script&gt;" in response.content or b"&lt;/title&gt;" in response.content
    png = web.get(f"/surveys/{evil.survey.pk}/analysis/landscape.png")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")


# --- the API and its docs -------------------------------------------------------------------------


def test_api_answers_are_json_with_nosniff_so_no_browser_renders_them_as_html(evil, api):
    for url in (
        f"/api/jobs/{evil.job.pk}/",
        f"/api/surveys/{evil.survey.pk}/",
        f"/api/segments/{evil.segment.pk}/",
        f"/api/surveys/{evil.survey.pk}/results/",
        "/api/outcomes/",
    ):
        response = api.get(url, HTTP_ACCEPT="text/html,application/json")
        assert response.status_code == 200, url
        body = response.content.decode()
        if "json" in response["Content-Type"]:
            json.loads(body)  # the payload is data in a string, not markup
        else:  # DRF's browsable API: an HTML page, so it must escape like any page
            assert_inert_html(body, url)
        assert response["X-Content-Type-Options"] == "nosniff"
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert_inert_html(docs.content.decode(), "/api/docs/")


# --- exports --------------------------------------------------------------------------------------


def test_catalogue_exports_neutralise_formulas_and_keep_text_exact(evil, web, api):
    _import_hostile_catalogues(api, evil)
    for response in (
        web.get(f"/jobs/{evil.job.pk}/export.csv"),
        api.get(f"/api/jobs/{evil.job.pk}/export/csv/"),
    ):
        assert response.status_code == 200
        assert_no_formula_cells(csv_cells(response.content), "catalogue csv")
    exported = api.get(f"/api/jobs/{evil.job.pk}/export/json/")
    assert exported["Content-Type"].startswith("application/json")
    statements = {o["statement"] for s in exported.json()["steps"] for o in s.get("outcomes", [])}
    assert evil.job.outcomes.get(pk=evil.outcome.pk).statement in statements


def test_invitation_csvs_neutralise_formulas(evil, web, api):
    added = api.post(
        f"/api/surveys/{evil.survey.pk}/invitations/",
        {"people": ['=HYPERLINK("http://x")', "+1 panel", "-1+1"]},
        format="json",
    )
    assert added.status_code == 201, added.content
    for response in (
        web.get(f"/surveys/{evil.survey.pk}/invitations.csv"),
        api.get(f"/api/surveys/{evil.survey.pk}/invitations-csv/"),
    ):
        assert response.status_code == 200
        cells = csv_cells(response.content)
        assert any(c.startswith("'=HYPERLINK") for c in cells), cells[:20]
        assert_no_formula_cells(cells, "invitations csv")


def test_results_csv_and_the_background_export_neutralise_formulas(evil, api, web):
    url = f"/api/surveys/{evil.survey.pk}/exports/"
    for query in ("?format=csv", f"?format=csv&segment={evil.segment.number}"):
        response = api.get(url + query)
        assert response.status_code == 200, response.content[:300]
        cells = csv_cells(response.content)
        assert any("alert(1)" in c for c in cells)
        assert_no_formula_cells(cells, query)
    download = web.get(f"/surveys/{evil.survey.pk}/results/exports/{evil.export.pk}/download")
    assert download.status_code == 200
    assert_no_formula_cells(csv_cells(b"".join(download)), "background csv")


def test_results_xlsx_has_no_formula_cell(evil, api):
    response = api.get(f"/api/surveys/{evil.survey.pk}/exports/?format=xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    texts = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and "alert(1)" in cell.value:
                    texts += 1
                    assert not cell.value.startswith(FORMULA_PREFIXES), cell.value
    assert texts >= 3


def test_respondent_sav_reads_the_text_back_literally(evil, api, tmp_path):
    response = api.get(f"/api/surveys/{evil.survey.pk}/exports/?format=sav")
    assert response.status_code == 200
    path = tmp_path / "respondents.sav"
    path.write_bytes(response.content)
    frame, meta = pyreadstat.read_sav(str(path))
    assert isinstance(frame, pd.DataFrame)
    values = {str(v) for column in frame.columns for v in frame[column].dropna().unique()}
    labels = {str(v) for mapping in meta.variable_value_labels.values() for v in mapping.values()}
    options = set(evil.question.options)
    found = options & (values | labels)
    neutralised = {"'" + o for o in options} & (values | labels)
    assert found or neutralised, sorted(values | labels)[:20]
