"""The HTML report as a reader sees it: opened in headless Chromium (Debian's ``chromium`` and ``chromedriver``,
driven by selenium) in a window of a given width, and checked in the page:

- nothing wider than its container: no table cut off at the edge of a frame that does not say it scrolls, no
  caption, figure or image cut off or wider than the content column, no sideways scrolling of the whole page (a
  table that truly cannot fit may scroll inside its frame when the frame is marked as scrollable: listed, not a
  problem);
- every image loaded; every table-of-contents link lands on a heading of the page;
- every interactive table became a DataTables table that filters and sorts; no script error in the console;
- the case browser the report links to opens, and its links land.

It saves screenshots of the first screen and of the result section. ``python -m claimbench.report.browser
report.html --width 1300 --width 800 --screenshots DIR`` runs the same checks by hand.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "chromium"
CHROMEDRIVER = "chromedriver"
# Flags that start Debian's Chromium headless as root in a container, with nothing reaching the network.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--force-device-scale-factor=1"]
WINDOW_HEIGHT = 900
READY_SECONDS = 20  # the DataTables bundle is decoded and imported in the page before the tables turn interactive

LAYOUT = """
const problems = [], scrolling = [];
const body = document.body, style = getComputedStyle(body), box = body.getBoundingClientRect();
const column = {left: box.left + parseFloat(style.paddingLeft), right: box.right - parseFloat(style.paddingRight)};
const text = el => (el.textContent || el.getAttribute("alt") || el.getAttribute("src") || "").trim()
    .replace(/\\s+/g, " ").slice(0, 70);
const named = el => {
  const block = el.closest(".table-block"), caption = block && block.querySelector(".table-caption");
  const own = el.tagName === "TABLE" && el.querySelector("caption");
  return el.tagName.toLowerCase() + ' "' + text(caption || own || el) + '"';
};
const clipper = el => {
  for (let a = el.parentElement; a && a !== body; a = a.parentElement)
    if (getComputedStyle(a).overflowX !== "visible") return a;
  return null;
};
const marked = frame => frame.classList.contains("scrolls")
    && !["none", "normal", ""].includes(getComputedStyle(frame, "::before").content);
const width = document.documentElement.scrollWidth;
if (width > window.innerWidth + 1)
  problems.push(`the page scrolls sideways: ${width} px wide in a ${window.innerWidth} px window`);
for (const table of document.querySelectorAll("table")) {
  if (!table.getClientRects().length) continue;
  const frame = getComputedStyle(table).overflowX !== "visible" ? table : clipper(table);
  const hidden = frame ? frame.scrollWidth - frame.clientWidth : 0;
  if (hidden > 1) {
    if (marked(frame)) scrolling.push(`${named(table)}: ${hidden} px to scroll, in a frame marked as scrollable`);
    else problems.push(`${named(table)}: ${hidden} px cut off at the right edge of its frame, `
                       + "not marked as scrollable");
  } else if (!frame && table.getBoundingClientRect().right > column.right + 1) {
    problems.push(`${named(table)} is wider than the content column`);
  }
}
for (const el of document.querySelectorAll("caption, .table-caption, figure, figcaption, img")) {
  const r = el.getBoundingClientRect();
  if (!r.width) continue;
  const frame = clipper(el);
  const right = frame ? frame.getBoundingClientRect().left + frame.clientWidth : column.right;
  if (r.right > right + 1)
    problems.push(`${named(el)}: ${Math.round(r.right - right)} px cut off or past the content column`);
}
for (const img of document.images)
  if (!(img.complete && img.naturalWidth > 0)) problems.push(`image not loaded: ${named(img)}`);
const toc = [...document.querySelectorAll("#TOC a")];
if (!toc.length) problems.push("no table of contents");
for (const a of toc) {
  const href = a.getAttribute("href") || "";
  if (!href.startsWith("#") || !document.getElementById(decodeURIComponent(href.slice(1))))
    problems.push(`table-of-contents link "${text(a)}" (${href}) lands on nothing in the page`);
}
return [problems, scrolling];
"""

LINKS = """
const missing = [];
for (const a of document.querySelectorAll('a[href^="#"]')) {
  const id = decodeURIComponent(a.getAttribute("href").slice(1));
  if (id && !document.getElementById(id)) missing.push(a.getAttribute("href"));
}
return [document.querySelector("h1") ? document.querySelector("h1").textContent : "", missing,
        [...document.querySelectorAll('a[href]:not([href^="#"])')].map(a => a.href)];
"""


class BrowserUnavailable(RuntimeError):
    pass


def unavailable() -> str | None:
    """Why the browser checks cannot run here, or None."""
    missing = [name for name in (CHROMIUM, CHROMEDRIVER) if not shutil.which(name)]
    if missing:
        return (f"{' and '.join(missing)} not installed (Debian packages chromium, chromium-driver; setup.sh installs "
                "them when run as root)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements.txt)"
    return None


@contextmanager
def chromium(width: int, height: int = WINDOW_HEIGHT) -> Iterator:
    """A headless Chromium window ``width`` x ``height`` pixels, with a fresh profile, driven by Debian's
    chromedriver (named explicitly, so selenium never looks for or downloads a driver of its own)."""
    reason = unavailable()
    if reason:
        raise BrowserUnavailable(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="claimbench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class PageCheck:
    """What one window width showed: problems (empty when the page reads well), tables that scroll in a marked
    frame, interactive tables checked, and the screenshots saved."""

    width: int
    problems: list[str] = field(default_factory=list)
    scrolling: list[str] = field(default_factory=list)
    interactive: int = 0
    screenshots: list[Path] = field(default_factory=list)


def _interactive_tables(driver, check: PageCheck) -> None:
    """Every table marked interactive turned into DataTables; the first one filters to the rows holding a value of
    its last row, and sorts by its first column when the header is clicked."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    marked = driver.find_elements(By.CSS_SELECTOR, ".interactive table")
    if not marked:
        return
    try:
        WebDriverWait(driver, READY_SECONDS).until(
            lambda d: d.execute_script("return document.body.classList.contains('tables-ready')"))
    except Exception:
        check.problems.append(f"the {len(marked)} interactive tables did not load DataTables in {READY_SECONDS} s")
        return
    containers = driver.find_elements(By.CSS_SELECTOR, ".interactive .dt-container")
    check.interactive = len(containers)
    if len(containers) != len(marked):
        check.problems.append(f"{len(containers)} of {len(marked)} interactive tables became DataTables tables")
    if not containers:
        return
    first = containers[0]

    def shown(_=None) -> list[str]:
        return [row.text for row in first.find_elements(By.CSS_SELECTOR, "tbody tr")]

    def settles(condition) -> bool:  # DataTables may redraw a moment after the event
        try:
            WebDriverWait(driver, 5).until(condition)
            return True
        except Exception:
            return False

    value = first.find_elements(By.CSS_SELECTOR, "tbody tr")[-1].find_elements(By.CSS_SELECTOR, "td")[0].text.strip()
    search = first.find_element(By.CSS_SELECTOR, "input[type=search]")
    search.send_keys(value)
    if not settles(lambda _: shown() and all(value.lower() in row.lower() for row in shown())):
        check.problems.append(f"filtering the first interactive table by {value!r} showed {shown()[:3]}")
    search.clear()
    search.send_keys(" ")  # an input event: the filter empties again
    header = first.find_elements(By.CSS_SELECTOR, "thead th")[0]
    header.click()
    if not settles(lambda _: header.get_attribute("aria-sort") in ("ascending", "descending")):
        check.problems.append("clicking the first interactive table's first header did not sort it")


def _case_browser(driver, report: Path, check: PageCheck) -> None:
    """The report's links to the case browser open it; its in-page links land and its link back to the report
    names a file that exists."""
    from selenium.webdriver.common.by import By

    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, 'a[href$="cases.html"]')]
    if not links:
        check.problems.append("the report has no link to the case browser (cases.html)")
        return
    target = report.parent / "cases.html"
    if not target.exists():
        check.problems.append(f"the case browser {target} does not exist")
        return
    driver.get(links[0])
    heading, missing, outside = driver.execute_script(LINKS)
    if not heading:
        check.problems.append(f"the case browser {links[0]} opened without a heading")
    check.problems += [f"case browser link {href} lands on nothing in the page" for href in missing]
    for href in outside:
        if href.startswith("file://") and not Path(href.split("#")[0][len("file://"):]).exists():
            check.problems.append(f"case browser link {href} names a file that does not exist")


def check_page(report: Path, width: int, screenshots: Path | None = None, case_browser: bool = True) -> PageCheck:
    """Open ``report`` in a ``width``-pixel window and check it (module docstring); screenshots into
    ``screenshots``: first-screen-<width>.png and result-<width>.png."""
    from selenium.webdriver.common.by import By

    report = Path(report).resolve()
    check = PageCheck(width)
    with chromium(width) as driver:
        driver.get(report.as_uri())
        _interactive_tables(driver, check)
        driver.execute_script("window.scrollTo(0, 0)")
        problems, scrolling = driver.execute_script(LAYOUT)
        check.problems = problems + check.problems
        check.problems += [f"script error: {entry['message'][:200]}" for entry in driver.get_log("browser")
                           if entry.get("level") == "SEVERE"]
        check.scrolling = scrolling
        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
            check.screenshots.append(screenshots / f"first-screen-{width}.png")
            driver.save_screenshot(str(check.screenshots[-1]))
            # the result section, or else the first section of a page without one
            result = driver.find_elements(By.ID, "sec-result") or driver.find_elements(By.CSS_SELECTOR, "h2[id^=sec-]")
            if result:
                driver.execute_script("arguments[0].scrollIntoView()", result[0])
                check.screenshots.append(screenshots / f"result-{width}.png")
                driver.save_screenshot(str(check.screenshots[-1]))
        if case_browser:
            _case_browser(driver, report, check)
    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check an HTML report in headless Chromium (see the module doc).")
    parser.add_argument("report", type=Path)
    parser.add_argument("--width", type=int, action="append", help="window width in pixels (repeatable; 1300, 800)")
    parser.add_argument("--screenshots", type=Path, help="folder for the screenshots")
    parser.add_argument("--no-case-browser", action="store_true", help="do not open the case browser")
    args = parser.parse_args(argv)
    failed = False
    for width in args.width or [1300, 800]:
        check = check_page(args.report, width, args.screenshots, case_browser=not args.no_case_browser)
        print(f"{width} px: {len(check.problems)} problems, {len(check.scrolling)} tables scrolling in a marked "
              f"frame, {check.interactive} interactive tables")
        for line in check.problems:
            print(f"  problem: {line}")
        for line in check.scrolling:
            print(f"  scrolls: {line}")
        for path in check.screenshots:
            print(f"  screenshot: {path}")
        failed |= bool(check.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
