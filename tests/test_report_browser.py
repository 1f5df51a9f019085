"""The HTML report in a real browser: headless Chromium (claimbench.report.browser) at 1300 and 800 pixels, on a
small page rendered as the report is, on pandoc's default page (where the check must fail), and on the smoke run's
report. Skipped, with the reason, where Debian's chromium and chromium-driver are not installed (setup.sh installs
them when run as root)."""

import re
from pathlib import Path

import pandas as pd
import pytest

from claimbench.report import browser
from claimbench.report.inputs import table_markdown
from claimbench.report.render import _pandoc

REASON = browser.unavailable()
needs_browser = pytest.mark.skipif(REASON is not None, reason=f"no browser: {REASON}")
WIDTHS = (1300, 800)


def _page(folder: Path, interactive: bool = True) -> Path:
    """A report-like page's Markdown: a table too wide for any window, with a long caption; a per-service table with
    40 rows; a figure wider than the window; a link to a case browser beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    figure = plt.figure(figsize=(20, 3), dpi=100)  # 2000 pixels wide
    plt.plot([0, 1, 2], [1, 0, 1])
    figure.savefig(folder / "wide.png")
    plt.close(figure)
    wide = pd.DataFrame({f"Configuration {i} [paper column]": [f"{i / 20:.2f} [{i / 40:.2f}, {i / 15:.2f}]"] * 3
                         for i in range(14)})
    wide.insert(0, "Component", ["ICD-10-CM", "CPT", "Modifier"])
    services = pd.DataFrame({"Service": [f"service {i:02d}" for i in range(40)],
                             "Test cases": [f"{(i * 37) % 101:,}" for i in range(40)],
                             "F1": [f"{(i * 13) % 100 / 100:.2f}" for i in range(40)]})
    (folder / "cases.html").write_text('<!DOCTYPE html><html><head><title>cases</title></head><body><h1>Cases</h1>'
                                       '<a href="#case-1">c1</a><section id="case-1">one</section>'
                                       '<a href="report.html">report</a></body></html>')
    markdown = folder / "report.md"
    markdown.write_text(
        "## Result {#sec-result}\n\nSome text.\n\n"
        + table_markdown(wide, "**Table 2 (paper 000).** F1 per component and configuration, a caption long enough "
                         "to run past the column of prose and end, with the words as the paper.")
        + "\n\n## Per service {#sec-service}\n\n"
        + table_markdown(services, "F1 by service.", interactive=interactive)
        + "\n\n![**Figure 1 (paper 000).** A figure wider than the window.](wide.png)\n\n"
        + "The [case browser](cases.html) shows every case.\n")
    return markdown


@needs_browser
def test_a_page_rendered_as_the_report_reads_well_at_1300_and_800_pixels(tmp_path):
    markdown = _page(tmp_path / "page")
    html = tmp_path / "page" / "report.html"
    _pandoc(markdown, html, "html", {"title": "A report"}, markdown.parent)
    for width in WIDTHS:
        check = browser.check_page(html, width, tmp_path / "screenshots")
        assert check.problems == [], (width, check.problems)
        assert check.interactive == 1  # sorted and filtered in the page (browser._interactive_tables)
        # 15 columns of intervals cannot fit: the fallback, a frame marked as scrollable, caption whole above it
        assert len(check.scrolling) == 1 and "Table 2 (paper 000)" in check.scrolling[0], check.scrolling
        assert [path.name for path in check.screenshots] == [f"first-screen-{width}.png", f"result-{width}.png"]
        assert all(path.read_bytes()[:4] == b"\x89PNG" for path in check.screenshots)


@needs_browser
def test_the_check_fails_on_pandocs_default_page_with_its_cut_off_table_and_caption(tmp_path):
    import pypandoc

    markdown = _page(tmp_path / "page", interactive=False)
    html = tmp_path / "page" / "plain.html"
    pypandoc.convert_file(str(markdown), "html", format="markdown", outputfile=str(html),
                          extra_args=["--standalone", "--embed-resources", "--toc", "--metadata=title:plain",
                                      f"--resource-path={markdown.parent}"])
    # and a table-of-contents link to nowhere, an image that does not load
    text = html.read_text().replace('href="#sec-service"', 'href="#sec-nowhere"', 1)
    html.write_text(re.sub(r'src="data:image/png;base64,[^"]+"', 'src="missing.png"', text, count=1))
    check = browser.check_page(html, 1300, case_browser=False)
    problems = "\n".join(check.problems)
    assert re.search(r'table "Table 2 \(paper 000\)\. F1 per component.*cut off at the right edge of its frame, '
                     "not marked as scrollable", problems), problems
    assert re.search(r'caption "Table 2 \(paper 000\)\. F1 per component.*px cut off', problems), problems
    assert "image not loaded" in problems and "(#sec-nowhere) lands on nothing" in problems


@pytest.mark.workflow
@needs_browser
def test_the_smoke_runs_report_reads_well_in_chromium(smoke_run, tmp_path):
    report = smoke_run / "results/report/report.html"
    for width in WIDTHS:
        check = browser.check_page(report, width, tmp_path / "screenshots")
        assert check.problems == [], (width, check.problems)
        assert check.interactive >= 5  # per service, per code, code querying, library versions, audit trail
        assert not any("Table R1." in line for line in check.scrolling), check.scrolling
        assert len(check.screenshots) == 2
