"""The opportunity landscape: the pure SVG drawing and its SVG/PNG downloads."""

from __future__ import annotations

import os
import random
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from io import BytesIO

import pytest
from django.test import Client
from PIL import Image

from analysis import runs
from analysis.chart_layout import (
    HEIGHT,
    LABEL_SIZE,
    LABEL_TOP,
    MARKER_RADIUS,
    WIDTH,
    Frame,
    Point,
    contour,
    label_box,
)
from analysis.charts import landscape_svg
from analysis.models import OutcomeResult, RunStatus
from surveys.importing import import_study
from surveys.wide_csv import ImportOptions

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "Minimize <script>alert('x')</script> & \"quoted\" time\x0b"


def band(o: float) -> str:
    return "extreme" if o > 15 else "high" if o > 12 else "solid" if o > 10 else "low"


def point(code: str, i: float, s: float, statement: str = "Minimize the time") -> Point:
    o = i + max(i - s, 0)
    return Point(code, statement, i, s, o, band(o))


def many(n: int, seed: int = 3) -> list[Point]:
    rnd = random.Random(seed)
    return [
        point(f"O{k:03d}", round(rnd.uniform(3, 9.6), 1), round(rnd.uniform(1, 8), 1))
        for k in range(1, n + 1)
    ]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def translate(g: ET.Element) -> tuple[float, float]:
    x, y = re.fullmatch(r"translate\(([\d.]+) ([\d.]+)\)", g.get("transform")).groups()
    return float(x), float(y)


# The drawing ---------------------------------------------------------------------------------


def test_the_drawing_loads_no_django():
    script = (
        "import sys, analysis.charts; sys.exit(any(m.startswith('django') for m in sys.modules))"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root}
    result = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, timeout=120)
    assert result.returncode == 0


def test_contours_follow_the_opportunity_formula_clipped_to_the_square():
    assert contour(15) == ((0.0, 7.5), (5.0, 10.0))
    assert contour(12) == ((0.0, 6.0), (8.0, 10.0))
    assert contour(10) == ((0.0, 5.0), (10.0, 10.0))
    for c in (10, 12, 15):
        (s0, i0), (s1, i1) = contour(c)
        # Both ends lie on O = c, computed with the scoring formula.
        for s, i in ((s0, i0), (s1, i1)):
            assert i + max(i - s, 0) == pytest.approx(c)
    with pytest.raises(ValueError):
        contour(8)


def test_the_lines_and_points_sit_at_their_scores():
    frame = Frame()
    root = parse(landscape_svg([point("A1", 8, 2), point("A2", 3, 6)], title="T"))
    lines = {line.get("data-o"): line for line in root.iter(f"{SVG}line") if line.get("data-o")}
    assert set(lines) == {"10", "12", "15"}
    for c, line in lines.items():
        (s0, i0), (s1, i1) = contour(int(c))
        got = [float(line.get(k)) for k in ("x1", "y1", "x2", "y2")]
        assert got == pytest.approx([frame.x(s0), frame.y(i0), frame.x(s1), frame.y(i1)], abs=0.06)
    diagonal = next(e for e in root.iter(f"{SVG}line") if e.get("class") == "diagonal")
    assert float(diagonal.get("x1")) == pytest.approx(frame.x(0))
    assert float(diagonal.get("y1")) == pytest.approx(frame.y(0))
    assert float(diagonal.get("x2")) == pytest.approx(frame.x(10))
    assert float(diagonal.get("y2")) == pytest.approx(frame.y(10))
    points = {g.get("data-code"): g for g in root.iter(f"{SVG}g") if g.get("class") == "pt"}
    # Satisfaction runs along x, importance up y.
    assert translate(points["A1"]) == pytest.approx((frame.x(2), frame.y(8)), abs=0.06)
    assert translate(points["A2"]) == pytest.approx((frame.x(6), frame.y(3)), abs=0.06)
    assert frame.y(8) < frame.y(3)


def test_every_point_is_focusable_and_named_with_its_scores():
    points = many(48)
    root = parse(landscape_svg(points, title="Landscape"))
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "pt"]
    assert [g.get("data-code") for g in groups] == [p.code for p in points]
    for g, p in zip(groups, points, strict=True):
        assert g.get("tabindex") == "0" and g.get("role") == "img"
        label = g.get("aria-label")
        assert label.startswith(f"{p.code}: Minimize the time; importance {p.importance:.1f}")
        assert f"({p.band})" in label
        assert g.find(f"{SVG}title").text == label
    assert root.find(f"{SVG}title").text == "Landscape"
    assert "Scatter chart of 48 outcomes" in root.find(f"{SVG}desc").text
    # Each point has its tooltip, shown on hover and on keyboard focus.
    style = root.find(f"{SVG}style").text
    for n in range(48):
        assert root.find(f".//{SVG}g[@id='landscape-tip-{n}']") is not None
        assert f"#landscape-pt-{n}:focus) #landscape-tip-{n}{{display:inline}}" in style


def test_the_chart_is_described_by_the_pages_table():
    root = parse(landscape_svg(many(3), title="T", described_by=("points-table",)))
    assert root.get("aria-describedby") == "landscape-desc points-table"
    assert root.get("viewBox").startswith("0 0 ")


def test_researcher_text_is_escaped_everywhere():
    svg = landscape_svg(
        [point('X"1<b>', 9, 1, EVIL)], title="Study <img src=x onerror=alert(1)>", subtitle=EVIL
    )
    root = parse(svg)  # well-formed despite the markup and the control character
    assert "<script>" not in svg and "<img" not in svg and "<b>" not in svg
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}img"))
    g = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "pt")
    assert g.get("data-code") == 'X"1<b>'
    assert g.get("aria-label").startswith("X\"1<b>: Minimize <script>alert('x')</script> & \"q")
    assert root.find(f"{SVG}title").text == "Study <img src=x onerror=alert(1)>"


def test_a_bad_id_prefix_is_refused():
    with pytest.raises(ValueError):
        landscape_svg([], title="T", id_prefix='x" onload="alert(1)')


def test_outcomes_without_scores_are_listed_but_not_plotted():
    blank = Point("Z9", "Nobody answered", None, None, None, "n/a")
    root = parse(landscape_svg([point("A1", 7, 3), blank], title="T"))
    assert [g.get("data-code") for g in root.iter(f"{SVG}g") if g.get("class") == "pt"] == ["A1"]
    assert "1 outcome without scores is not plotted." in root.find(f"{SVG}desc").text


@pytest.mark.parametrize("n", [48, 100])
def test_a_crowded_chart_stays_valid_and_its_labels_never_overlap(n):
    points = many(n)
    root = parse(landscape_svg(points, title="T"))
    labels = root.find(f".//{SVG}g[@class='labels']")
    boxes = [
        (
            t.text,
            label_box(t.text, float(t.get("x")), float(t.get("y")), t.get("text-anchor")),
        )
        for t in labels.iter(f"{SVG}text")
    ]
    overlapping = sum(
        1 for i, (_, a) in enumerate(boxes) for _, b in boxes[i + 1 :] if a.overlaps(b)
    )
    assert overlapping == 0
    # Inside the chart (the plot and its top and right margins), clear of every marker but the
    # one it names.
    frame = Frame()
    centres = {
        g.get("data-code"): translate(g) for g in root.iter(f"{SVG}g") if g.get("class") == "pt"
    }
    r = MARKER_RADIUS
    for text, box in boxes:
        assert box.inside(frame.left, LABEL_TOP, WIDTH, frame.bottom)
        for code, (x, y) in centres.items():
            if code != text:
                assert not box.overlaps(type(box)(x - r, y - r, x + r, y + r)), (text, code)
    # Most points keep their code, the highest opportunities first of all.
    labelled = {text for text, _ in boxes}
    assert len(labelled) >= 0.6 * n
    best = sorted(points, key=lambda p: -p.opportunity)[:10]
    assert sum(p.code in labelled for p in best) >= 9
    skipped = n - len(labelled)
    legend = "".join(root.find(f".//{SVG}g[@class='legend']").itertext())
    assert (f"{skipped} crowded labels left off" in legend) == (skipped > 0)
    assert LABEL_SIZE >= 11


def test_the_png_source_has_the_same_drawing_without_the_interaction():
    points = many(20)
    interactive = parse(landscape_svg(points, title="T"))
    still = parse(landscape_svg(points, title="T", interactive=False))
    assert still.find(f"{SVG}style") is None and "tabindex" not in ET.tostring(still).decode()

    def drawn(root: ET.Element) -> list[str]:
        return [t.text for t in root.iter(f"{SVG}text") if not _in_tip(root, t)]

    assert drawn(interactive) == drawn(still)


def _in_tip(root: ET.Element, element: ET.Element) -> bool:
    tips = root.find(f".//{SVG}g[@class='tips']")
    return tips is not None and any(e is element for e in tips.iter())


# The downloads -------------------------------------------------------------------------------


@pytest.fixture
def survey(workspace):
    rows = ["respondent_id,imp_A1,sat_A1,imp_A2,sat_A2,imp_A3,sat_A3"]
    rows += [f"r{i},{5 if i % 3 else 2},{1 + i % 5},4,2,{1 + i % 5},5" for i in range(120)]
    return import_study(
        workspace=workspace, name="Study", data="\n".join(rows), options=ImportOptions()
    ).survey


@pytest.fixture
def run(survey):
    run = runs.analyze_now(survey=survey, parameters={"segments": "off"})
    assert run.status == RunStatus.SUCCEEDED
    OutcomeResult.objects.filter(run=run, code="A1").update(statement=EVIL)
    return run


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    return struct.unpack(">II", body[16:24])


@pytest.mark.django_db
def test_a_viewer_downloads_the_svg(client: Client, viewer, survey, run):
    client.force_login(viewer)
    answer = client.get(f"/surveys/{survey.pk}/analysis/landscape.svg")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("image/svg+xml")
    assert (
        f'filename="landscape-survey-{survey.pk}-run-{run.pk}.svg"' in answer["Content-Disposition"]
    )
    assert "default-src 'none'" in answer["Content-Security-Policy"]
    body = answer.content.decode()
    root = parse(body)
    codes = [g.get("data-code") for g in root.iter(f"{SVG}g") if g.get("class") == "pt"]
    assert sorted(codes) == ["A1", "A2", "A3"]
    assert "<script>" not in body and "&lt;script&gt;" in body


@pytest.mark.django_db
def test_a_viewer_downloads_the_png(client: Client, viewer, survey, run):
    client.force_login(viewer)
    answer = client.get(f"/surveys/{survey.pk}/analysis/landscape.png")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    assert png_size(answer.content) == (2 * WIDTH, 2 * HEIGHT)
    image = Image.open(BytesIO(answer.content)).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
    # Not a blank canvas: the band tints, the markers' colours and the ink are drawn.
    for band_tint in ((0xFB, 0xE3, 0xD6), (0xFD, 0xF0, 0xD2), (0xE1, 0xED, 0xF7)):
        assert band_tint in colours
    assert (0xD5, 0x5E, 0x00) in colours and (255, 255, 255) in colours


@pytest.mark.django_db
def test_a_segment_chart_needs_an_existing_segment(client: Client, viewer, survey, run):
    client.force_login(viewer)
    for query in ("?segment=7", "?segment=x"):
        answer = client.get(f"/surveys/{survey.pk}/analysis/landscape.svg{query}")
        assert answer.status_code == 404 and b"no segment" in answer.content


@pytest.mark.django_db
def test_another_workspaces_member_gets_404(client: Client, outsider, survey, run):
    client.force_login(outsider)
    for ext in ("svg", "png"):
        assert client.get(f"/surveys/{survey.pk}/analysis/landscape.{ext}").status_code == 404


@pytest.mark.django_db
def test_without_a_finished_run_there_is_no_chart(client: Client, viewer, survey):
    client.force_login(viewer)
    for ext in ("svg", "png"):
        answer = client.get(f"/surveys/{survey.pk}/analysis/landscape.{ext}")
        assert answer.status_code == 404
        assert answer["Content-Type"].startswith("text/plain")
        assert b"no finished analysis" in answer.content


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client: Client, survey, run):
    answer = client.get(f"/surveys/{survey.pk}/analysis/landscape.svg")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


@pytest.mark.django_db
def test_the_analysis_page_shows_the_chart_its_table_and_downloads(
    client: Client, viewer, survey, run
):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/analysis/").content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="landscape"' in html
    assert 'aria-describedby="landscape-desc landscape-table"' in html
    assert 'id="landscape-table"' in html
    assert f'href="/surveys/{survey.pk}/analysis/landscape.svg"' in html
    assert f'href="/surveys/{survey.pk}/analysis/landscape.png"' in html
    assert "<script>alert" not in html
