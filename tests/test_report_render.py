"""The report's pandoc filters and tables: the same labels in HTML and PDF (a paper's number kept, the report's own
numbered R1, R2, ...), tables that fit the page, and the Markdown that show_table writes."""

import re

import pandas as pd

from claimbench.report.html_page import page_scripts
from claimbench.report.inputs import is_number_column, table_markdown
from claimbench.report.render import _pandoc

MARKDOWN = """# Results

![**Figure 1 (paper 000).** First caption](a.png)

![](uncaptioned.png)

![Our own figure](b.png)

| Configuration | Model (this run) | Note |
|:--|:--|:--|
| ft-medium | Phi-3-medium-128k-instruct | disabled in config (configurations.api.enabled: false), so no operative note was sent anywhere at all |

: Our own table, its caption long enough to be cut off inside a table that scrolls: it must stay whole above it.

| a | b |
|:--|--:|
| x | 1 |

: **Table 2 (paper 000).** The paper's table.
"""


def test_html_labels_paper_figures_and_tables_with_their_number_and_its_own_with_r_numbers(tmp_path):
    source = tmp_path / "report.md"
    source.write_text(MARKDOWN)
    for name in ("a.png", "b.png", "uncaptioned.png"):  # a 1x1 PNG each
        (tmp_path / name).write_bytes(bytes.fromhex(
            "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
            "000154a24f5d0000000049454e44ae426082"))
    html = tmp_path / "report.html"
    _pandoc(source, html, "html", {"title": "t"}, tmp_path)
    text = " ".join(html.read_text().split())
    assert "<strong>Figure 1 (paper 000).</strong> First caption" in text
    assert "<strong>Figure R1.</strong> Our own figure" in text
    assert text.count("<strong>Figure") == 2  # an image without a caption is no figure, in Typst either
    assert "<strong>Table R1.</strong> Our own table" in text and "<strong>Table 2 (paper 000).</strong>" in text
    # the caption stands above the table's frame, not inside the table, and columns are sized by the browser
    assert re.search(r'<div class="table-caption">\s*<strong>Table R1.</strong>.*?</div>\s*<div class="table-frame">\s*'
                     r"<table>", text)
    assert "<caption" not in text and "<colgroup" not in text
    assert "max-width: 36em" not in text and ".table-frame.scrolls" in text  # the report's stylesheet, not pandoc's


def test_typst_tables_size_columns_to_content_and_let_long_names_wrap(tmp_path):
    source = tmp_path / "report.md"
    source.write_text(MARKDOWN)
    typ = tmp_path / "report.typ"
    _pandoc(source, typ, "typst", {"title": "t"}, tmp_path)
    text = typ.read_text()
    table = text[text.index("#table("):]
    columns = table[table.index("columns:"):].split("\n", 1)[0]
    assert columns.strip() == "columns: 3,", columns  # auto widths, not fixed shares of the page
    assert "Phi-\u200b3-\u200bmedium-\u200b128k-\u200binstruct" in text
    assert "set par(justify: false)" in text
    assert "#set figure(numbering: none)" in text  # Typst adds no "Table 1:" of its own to the labels
    assert "caption: [#strong[Table R1.] Our own table" in text
    assert "caption: [#strong[Table 2 (paper 000).] The paper's table.]" in text
    assert "#strong[Figure 1 (paper 000).] First caption" in text and "#strong[Figure R1.] Our own figure" in text


def test_show_table_right_aligns_numbers_lists_items_one_per_line_and_marks_interactive_tables():
    frame = pd.DataFrame({"Configuration": ["base", "rag"], "F1 [95% CI]": ["0.42 [0.38, 0.45]", "not run"],
                          "Cases": ["1,234", "—"], "Evidence": ["a < b: yes [0.1, 0.2]; c < d: no", "—"]})
    text = table_markdown(frame, "cap", interactive=True, one_per_line=["Evidence"])
    assert text.startswith("::: {.interactive}\n") and text.endswith("\n\n: cap\n:::")
    rule = text.splitlines()[2]
    assert [cell.strip()[0] + cell.strip()[-1] for cell in rule.strip("|").split("|")] == [":-", "-:", "-:", ":-"]
    assert r"[a < b: yes \[0.1, 0.2\]]{.line} [c < d: no]{.line}" in text
    assert "0.42 [0.38,\u00a00.45]" in text  # an interval is never broken at its comma
    assert is_number_column(["+0.12 (apart, above)", "−0.30 (overlap)", "61.2% (57.0–65.3)"])
    assert not is_number_column(["ft-mini", "0.3"]) and not is_number_column(["—", "not run"])


def test_one_item_per_line_in_both_formats(tmp_path):
    source = tmp_path / "report.md"
    source.write_text(table_markdown(pd.DataFrame({"Evidence": ["a < b; c < d"]}), one_per_line=["Evidence"]))
    _pandoc(source, tmp_path / "report.html", "html", {"title": "t"}, tmp_path)
    _pandoc(source, tmp_path / "report.typ", "typst", {"title": "t"}, tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert '<span class="line">a &lt; b</span> <span class="line">c &lt; d</span>' in html
    assert re.search(r"a \\< b \\\s+c \\< d \\", (tmp_path / "report.typ").read_text())  # a line break after each


def test_page_scripts_embed_the_datatables_bundle_and_wait_for_it_by_its_name():
    from itables.javascript import _itables_underscore_version

    scripts = page_scripts()
    assert "__ITABLES_GLOBAL__" not in scripts and f'window["{_itables_underscore_version()}"]' in scripts
    assert not re.search(r"""(src=|from |import\()\s*["']?https?:""", scripts)  # nothing fetched: the bundle is inline
    assert len(scripts) > 500_000  # DataTables and its stylesheet, base64
