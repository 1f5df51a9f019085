"""What the HTML report carries besides pandoc's output: the project's stylesheet, a filter that frames its tables,
and the page's script with the DataTables bundle of itables (its offline mode: the bundle is embedded in the page,
nothing is fetched), which makes the tables marked interactive sortable and filterable.

pandoc's default style sets the text in a 36em column and lets a wide table scroll inside itself, caption included,
so the right end of a table and of its caption is cut off at the column's edge; ``static/report.css`` replaces it.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).with_name("static")
STYLESHEET = STATIC / "report.css"
SCRIPT = STATIC / "report.js"
HTML_TABLES = Path(__file__).with_name("html_tables.lua")


def page_scripts() -> str:
    """The HTML put after the report's body: itables' offline loader (the DataTables bundle, base64) and report.js,
    which waits for the bundle under the global name that loader gives it."""
    from itables import options
    from itables.javascript import _itables_underscore_version, generate_init_offline_itables_html

    script = SCRIPT.read_text().replace("__ITABLES_GLOBAL__", _itables_underscore_version())
    return generate_init_offline_itables_html(options.dt_bundle) + f"\n<script>\n{script}</script>\n"


def pandoc_args(workdir: Path) -> list[str]:
    """pandoc's HTML arguments for the page: stylesheet, table frames, scripts (written to ``workdir``)."""
    scripts = Path(workdir) / "page-scripts.html"
    scripts.write_text(page_scripts())
    return [f"--css={STYLESHEET}", f"--lua-filter={HTML_TABLES}", f"--include-after-body={scripts}",
            "--variable=toc-title:Contents"]
