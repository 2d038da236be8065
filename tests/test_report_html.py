"""The HTML report: self-contained, a badge and a figure per claim, checked in headless Chromium."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from helpers import make_report, make_store

from faspec.report import figures, html

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
INSTALL = "apt-get update && apt-get install -y chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Page(HTMLParser):
    """Per claim section: its badges and its figures (img data: URIs and svg elements)."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.badges: dict[str, list[str]] = {}
        self.figures: dict[str, list[dict[str, str]]] = {}
        self.fetches: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in ("src", "href"):
            if key in a and a[key].split(":")[0] in ("http", "https", "ftp", "ws", "wss"):
                self.fetches.append(a[key])
        if tag == "link" or (tag == "script" and "src" in a):
            self.fetches.append(f"<{tag}>")
        if tag == "section" and "claim" in a.get("class", ""):
            self.section = a["data-claim"]
            self.badges[self.section], self.figures[self.section] = [], []
        if self.section is None:
            return
        if (
            tag == "span"
            and "badge" in a.get("class", "").split()
            and a.get("data-claim") == self.section
        ):
            self.badges[self.section].append(a["data-verdict"])
        if tag == "img":
            self.figures[self.section].append(
                {"tag": "img", "src": a.get("src", ""), "alt": a.get("alt", "")}
            )
        if tag == "svg":
            self.figures[self.section].append({"tag": "svg", "src": "", "alt": ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None


def parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    return p


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    root = tmp_path_factory.mktemp("report")
    st, results, cells = make_store(root / "results")
    report = make_report(st, results, cells)
    out = root / "reports"
    out.mkdir()
    (out / f"{report['spec']}.json").write_text(json.dumps(report))
    page = html.render(report, results, cells)
    (out / f"{report['spec']}.html").write_text(page)
    return report, page, out


def check_page(report: dict[str, Any], page: Page) -> None:
    assert not page.fetches, f"the report must not fetch anything: {page.fetches}"
    assert set(page.badges) == {c["claim_id"] for c in report["claims"]}
    for c in report["claims"]:
        cid = c["claim_id"]
        assert page.badges[cid] == [c["verdict"]], cid
        figs = page.figures[cid]
        assert len(figs) == 1, (cid, figs)
        f = figs[0]
        assert f["tag"] == "svg" or f["src"].startswith("data:image/png;base64,"), (
            cid,
            f["src"][:40],
        )
        if f["tag"] == "img":
            assert base64.b64decode(f["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_claim_has_badge_and_figure(rendered):
    report, text, _ = rendered
    page = parse(text)
    check_page(report, page)
    figs = {cid: f[0] for cid, f in page.figures.items()}
    # the chart follows the claim's shape
    kinds = {
        "fa-beats-dfa": "per-seed values",
        "bp-beats-frozen": "per-seed values",
        "one-seed": "per-seed values",
        "dfa-gradient-floor-early": "per-epoch curves",  # by epoch
        "dfa-growth-fires": "per-epoch curves",  # protocol metric
        "fa-deep-credit-at-every-depth": "across model.blocks",  # for_each, from the numbers
    }
    for cid, alt in kinds.items():
        assert alt in figs[cid]["alt"], (cid, figs[cid])
    assert figs["ep-runs"]["tag"] == "svg" and figs["sb-missing"]["tag"] == "svg"  # no data
    # what a researcher reads per claim: rule, test, p, n, ddof, reported, runs
    for needle in (
        "one-sided Welch t-test",
        "statistics: test welch · alpha 0.05 · metric test_acc",
        "std (ddof=1)",
        "0.401 ± 0.009",
        "MISMATCH",
        "model.blocks = 4",
        "wall s",
        report["claims"][0]["run_details"][0]["run"],
        "Table 1",
    ):
        assert needle in text, needle


def test_figures_without_cells_or_numbers_still_render(rendered):
    report, _, _ = rendered
    results: dict[str, Any] = {}
    for c in report["claims"]:
        c2 = {**c, "numbers": {}}
        assert figures.figure(c2, results).startswith("<svg")  # no data anywhere: placeholder
    text = html.render({"spec": "empty", "claims": []}, {})
    assert "<h1>empty</h1>" in text


def test_figure_follows_the_runs_without_cells_or_for_each(tmp_path):
    st, results, cells = make_store(tmp_path / "results")
    report = make_report(st, results, cells)
    sweep = {**report["claims"][3], "numbers": {}}  # the runs span model.blocks 2/4/8
    assert 'alt="fa-deep-credit-at-every-depth across model.blocks"' in figures.figure(
        sweep, results, cells
    )
    # without cells, the report's run details stand in (method name as label): dots from the runs
    dots = {**report["claims"][4], "numbers": {}}
    assert 'alt="per-seed values of bp-beats-frozen"' in figures.figure(dots, results)


def test_index_lists_every_report(rendered, tmp_path):
    report, _, out = rendered
    other = {**report, "spec": "second", "title": "Another", "profile": "smoke"}
    (tmp_path / "second.json").write_text(json.dumps(other))
    (tmp_path / f"{report['spec']}.json").write_text(json.dumps(report))
    (tmp_path / f"{report['spec']}.html").write_text("x")
    (tmp_path / "not-a-report.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text("{")
    idx = html.render_index(tmp_path)
    assert f'href="{report["spec"]}.html"' in idx
    assert (
        "second" in idx and "PROFILE smoke" in idx and 'href="second.html"' not in idx
    )  # no page: no link
    assert idx.count('data-claim="fa-beats-dfa"') == 2


@pytest.mark.skipif(
    CHROMIUM is None, reason=f"headless Chromium is not installed (Debian: {INSTALL})"
)
def test_rendered_in_headless_chromium(rendered, tmp_path):
    report, _, out = rendered
    path = (out / f"{report['spec']}.html").resolve()
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        base = [CHROMIUM, *FLAGS]
        dom_p = subprocess.Popen(
            [*base, f"--user-data-dir={d1}", "--dump-dom", path.as_uri()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        shot_p = subprocess.Popen(
            [
                *base,
                f"--user-data-dir={d2}",
                f"--screenshot={shot}",
                "--window-size=1280,2000",
                path.as_uri(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        dom, err = dom_p.communicate(timeout=60)
        shot_p.communicate(timeout=60)
    assert dom_p.returncode == 0, err[-2000:]
    page = parse(dom)
    check_page(report, page)
    assert shot_p.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_verdict_fields_the_page_does_not_name_are_shown(rendered):
    """A field check/claims.py adds to verdicts later (a family size, a corrected threshold) is
    listed under the claim without a change to the page; empty ones are left out."""
    report, _, _ = rendered
    claim = {
        **report["claims"][0],
        "family_size": 4,
        "corrected_alpha": 0.0125,
        "marks": ["degenerate reference"],
        "empty_note": "",
    }
    text = html.render({**report, "claims": [claim]}, {})
    section = text.split('<section class="claim"', 1)[1]
    assert "<dt>family size</dt><dd>4</dd>" in section
    assert "<dt>corrected alpha</dt><dd>0.0125</dd>" in section
    assert "<dt>marks</dt><dd>degenerate reference</dd>" in section
    assert "empty note" not in section


def test_fields_added_inside_numbers_are_shown():
    """Fields a verdict's numbers gain later (on a summary, a test, a per-seed row, the point)
    appear on the page; the fields with their own column are not repeated."""
    summary = {"mean": 0.4, "std": 0.01, "n": 3, "values": [0.39, 0.4, 0.41], "degenerate": True}
    link = {"left": "fa", "op": ">", "right": "dfa", "test": "welch", "p": 0.01, "verdict": "pass"}
    numbers = {
        "test": "welch",
        "family": {"size": 4, "corrected_alpha": 0.0125},
        "points": [
            {
                "point": {},
                "operands": {"fa.test_acc": summary},
                "links": [{**link, "corrected_alpha": 0.0125}],
                "per_seed": [{"seed": 1, "holds": True, "epoch": 3, "reference": "degenerate"}],
            }
        ],
    }
    claim = {"claim_id": "c", "verdict": "pass", "expect": "fa > dfa", "numbers": numbers}
    text = html.render({"spec": "x", "claims": [claim]}, {})
    assert "0.39, 0.4, 0.41 (degenerate True)" in text
    assert "corrected alpha 0.0125" in text and "family.size: 4" in text
    assert "reference degenerate" in text
    assert "welch (" not in text and "left fa" not in text


def test_html_report_renders_without_torch():
    """The report is on the check path: it renders, figures included, with torch unimportable."""
    import os
    import subprocess
    import sys

    from helpers import ROOT

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from faspec.report import html\n"
        "s = {'mean': 0.4, 'n': 3, 'std': 0.01, 'values': [0.39, 0.4, 0.41], 'seeds': [1, 2, 3]}\n"
        "claim = {'claim_id': 'c', 'verdict': 'pass', 'expect': 'fa > 0.3',\n"
        "         'numbers': {'operands': {'fa.test_acc': s}}}\n"
        "page = html.render({'spec': 'x', 'claims': [claim]}, {})\n"
        "assert 'data:image/png;base64,' in page, page[-500:]\n"
        "assert 'torch' not in sys.modules or sys.modules['torch'] is None\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.returncode == 0, r.stderr[-2000:]


def test_the_page_states_the_family_and_its_corrected_thresholds(rendered):
    """Every report states the family size and the corrected threshold, the HTML page too."""
    from faspec.report.common import family_sentence

    report, _, _ = rendered
    fam = {"method": "holm", "size": 3, "alpha": 0.05, "smallest_threshold": 0.05 / 3}
    page = html.render({**report, "family": fam}, {}, None)
    line = family_sentence(fam)
    assert "3 claim(s) tested over seeds" in line and "0.01667" in line
    assert f'<p class="family">{escape(line)}</p>' in page
    assert '<p class="family">' not in html.render({**report, "family": {}}, {}, None)
