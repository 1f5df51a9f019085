"""The report's pandoc filters: figures numbered in HTML as Typst numbers them in the PDF, tables that fit the page."""

from pathlib import Path

from claimbench.report.render import _pandoc

MARKDOWN = """# Results

![Paper Figure 1. First caption](a.png)

![](uncaptioned.png)

![Paper Figure 2. Second caption](b.png)

| Configuration | Model (this run) | Note |
|:--|:--|:--|
| ft-medium | Phi-3-medium-128k-instruct | disabled in config (configurations.api.enabled: false), so no operative note was sent anywhere at all |
"""


def test_html_numbers_captioned_figures_in_order(tmp_path):
    source = tmp_path / "report.md"
    source.write_text(MARKDOWN)
    for name in ("a.png", "b.png", "uncaptioned.png"):  # a 1x1 PNG each
        (tmp_path / name).write_bytes(bytes.fromhex(
            "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
            "000154a24f5d0000000049454e44ae426082"))
    html = tmp_path / "report.html"
    _pandoc(source, html, "html", {"title": "t"}, tmp_path)
    text = " ".join(html.read_text().split())
    assert "<strong>Figure 1:</strong> Paper Figure 1. First caption" in text
    assert "<strong>Figure 2:</strong> Paper Figure 2. Second caption" in text
    assert text.count("<strong>Figure") == 2  # an image without a caption is no figure, in Typst either


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
