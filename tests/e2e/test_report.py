"""Snakemake's report of a finished run, opened in a real headless Chromium.

``snakemake --report results/report.html`` on a copy of the shared tiny run, then the
page is loaded as a person would load it: the report's JavaScript app must
render, list every category and item of rules/report.smk, and every figure
must decode in the browser and show when its item is clicked. A screenshot
of the MF1 chart as the report shows it is kept beside it, in results/report.png.

Needs Debian's ``chromium`` and ``chromium-driver`` (.ci/run installs them)
and the pinned ``selenium``; the driver is the system's chromedriver, never a
download.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.workflow import copy_run, snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TIMEOUT = 60  # seconds; a loaded 2-core machine needed more than 30 once

NO_CHROMIUM = (
    "no chromium binary: install Debian's chromium and chromium-driver "
    "(apt-get install chromium chromium-driver; .ci/run does) to test the report"
)
if CHROMIUM is None:
    if os.environ.get("CI"):  # CI installs it: a missing browser there is a broken setup
        raise RuntimeError(NO_CHROMIUM)
    pytest.skip(NO_CHROMIUM, allow_module_level=True)

from selenium import webdriver  # noqa: E402  (after the skip: only needed with a browser)
from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

EXPECTED_SUBCATEGORIES = {
    "1. Results": {"Results table", "MF1 per system"},
    "2. Calibration and explanations": {"Reliability diagrams", "Per-video explanations"},
    "3. Ensembles": {"Confusion matrices", "ROC and precision-recall"},
    "4. Fusion seeds": {"Per-seed spread"},
    "5. Data": {"Modality availability"},
    "6. Run": {"Resource use"},
}


@pytest.fixture(scope="module")
def report(default_run, tmp_path_factory) -> Path:
    """The report of a copy of the default run (the shared run is only read)."""
    workdir = copy_run(default_run, tmp_path_factory.mktemp("report") / "run")
    snakemake(workdir, "--report", "results/report.html")
    path = workdir / "results" / "report.html"
    assert path.stat().st_size > 100_000  # the app, its libraries and the figures, inline
    return path


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMEDRIVER).is_file(), (
        f"{CHROMIUM} exists but {CHROMEDRIVER} does not: apt-get install chromium-driver"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1600,1100",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The system's chromedriver: Selenium Manager (which downloads drivers) is never asked.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def open_report(driver, report: Path) -> None:
    """Load the page and wait until the app has replaced the loading screen with its menu."""
    driver.get(report.as_uri())
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: d.execute_script(
            "const l = document.querySelector('#loading-screen');"
            "return l && l.style.display === 'none' && document.querySelector('#app nav ul li');"
        )
    )


def click(driver, locate) -> None:
    """Click the element ``locate(driver)`` finds, once the menu has stopped moving.

    The menu's links slide in (CSS transitions): a click during the animation
    lands on the link passing under the pointer, and Chrome refuses it. The
    element is looked up again on each try, and a refused click is retried.
    """

    def attempt(d):
        try:
            element = locate(d)
            if element is None:
                return False
            element.click()
            return True
        except (ElementClickInterceptedException, StaleElementReferenceException):
            return False

    WebDriverWait(driver, TIMEOUT, poll_frequency=0.25).until(attempt)


def click_menu_item(driver, label: str) -> None:
    xpath = f"//nav//a[span[normalize-space()='{label}']]"
    links = driver.find_elements(By.XPATH, xpath)
    assert links, f"no menu item {label!r} in: {driver.find_element(By.TAG_NAME, 'nav').text}"
    click(driver, lambda d: next(iter(d.find_elements(By.XPATH, xpath)), None))


def view_button(driver, index: int):
    rows = driver.find_elements(By.XPATH, "//nav//table/tbody/tr")
    return rows[index].find_element(By.XPATH, "./td[last()]//a[1]") if index < len(rows) else None


def shown_image(driver, expected_src: str):
    """The image the content pane shows, once it has loaded (natural size in pixels)."""
    script = (
        "const i = document.querySelector('div.justify-center img');"
        "if (!i || i.getAttribute('src') !== arguments[0] || !i.complete) return null;"
        "return [i.naturalWidth, i.naturalHeight];"
    )
    return WebDriverWait(driver, TIMEOUT).until(lambda d: d.execute_script(script, expected_src))


def ensemble_runs(workdir: Path) -> set[str]:
    return {p.parent.name for p in (workdir / "results" / "fusion").glob("*/ensemble")}


def test_report_lists_every_item_with_a_caption(report, browser, default_run):
    open_report(browser, report)
    categories = browser.execute_script("return categories")
    results = browser.execute_script("return results")
    assert {c: set(s) for c, s in categories.items()} == EXPECTED_SUBCATEGORIES
    runs = ensemble_runs(default_run)
    assert runs, "the tiny run has multi-seed fusion runs"
    for subcategory in ("Confusion matrices", "ROC and precision-recall"):
        items = categories["3. Ensembles"][subcategory]
        assert {results[p]["labels"]["run"] for p in items} == runs
    counts = {c: sum(len(v) for v in s.values()) for c, s in categories.items()}
    assert counts == {
        "1. Results": 3,  # table.html, table.csv, mf1.svg
        "2. Calibration and explanations": 2,  # reliability.svg, explanations.html
        "3. Ensembles": 2 * len(runs),
        "4. Fusion seeds": 1,
        "5. Data": 1,
        "6. Run": 1,
    }
    for path, entry in results.items():
        assert entry["caption"].strip(), f"{path} has no caption"
        expected = {".svg": "image/svg+xml", ".html": "text/html", ".csv": "text/csv"}
        assert entry["mime_type"] == expected[Path(path).suffix], path
        assert entry["data_uri"].startswith(f"data:{entry['mime_type']};")
    # the workflow description (report/workflow.rst) is the start page
    description = browser.find_element(By.CSS_SELECTOR, "div.prose").text
    assert "ambivalence/hesitancy" in description and "1. Results" in description
    assert "Corpus: demo" in description


def test_every_figure_decodes_in_the_browser(report, browser):
    open_report(browser, report)
    decoded = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const images = Object.entries(results).filter(([p, r]) => r.mime_type.startsWith("image/"));
        Promise.all(images.map(([path, r]) => new Promise((resolve) => {
            const image = new Image();
            image.onload = () => resolve([path, image.naturalWidth, image.naturalHeight]);
            image.onerror = () => resolve([path, 0, 0]);
            image.src = r.data_uri;
        }))).then(done);
        """
    )
    assert len(decoded) >= 8
    for path, width, height in decoded:
        assert width > 200 and height > 100, f"{path} does not decode ({width}x{height})"


def check_explanations_view(browser, body, default_run: Path, folder: Path) -> None:
    """The per-video view: one summary row per modality, one row per explained video, and
    a click on the P(A/H) header sorts the videos by it (the page's own script runs)."""
    explanations = pd.read_csv(default_run / "results" / "explanations.csv")
    modalities = [c for c in explanations.columns if c.startswith("contribution_")]
    assert len(body) == len(modalities) + len(explanations)
    header = browser.find_element(By.XPATH, "//th[normalize-space()='P(A/H)']")
    header.click()
    column = header.find_elements(By.XPATH, "./preceding-sibling::th")
    cells = browser.find_elements(By.XPATH, f"(//table)[2]/tbody/tr/td[{len(column) + 1}]")
    shown = [float(cell.get_attribute("data-v")) for cell in cells]
    assert shown == sorted(shown, reverse=True) and len(shown) == len(explanations)
    browser.save_screenshot(str(folder / "explanations.png"))


def test_clicking_through_the_report_shows_every_item(report, browser, default_run):
    """Menu -> category -> subcategory -> each item's view button, as a person would."""
    open_report(browser, report)
    categories = browser.execute_script("return categories")
    results = browser.execute_script("return results")
    table_rows = len(pd.read_csv(default_run / "results" / "table.csv"))
    shown = 0
    for category, subcategories in sorted(categories.items()):
        for subcategory, paths in sorted(subcategories.items()):
            open_report(browser, report)
            click_menu_item(browser, category)
            if len(subcategories) > 1:
                click_menu_item(browser, subcategory)
            rows = browser.find_elements(By.XPATH, "//nav//table/tbody/tr")
            assert len(rows) == len(paths), (category, subcategory)
            for index, path in enumerate(sorted(paths, key=lambda p: results[p]["name"])):
                entry = results[path]
                row = browser.find_elements(By.XPATH, "//nav//table/tbody/tr")[index]
                labels = " ".join(str(v) for v in entry["labels"].values())
                assert row.text.strip() == labels, (row.text, labels)
                view = row.find_element(By.XPATH, "./td[last()]//a[1]")
                if entry["mime_type"] == "text/csv":  # a download link, not a view
                    assert view.get_attribute("download") == "table.csv"
                    continue
                click(browser, lambda d, i=index: view_button(d, i))
                if entry["mime_type"] == "text/html":
                    frame = WebDriverWait(browser, TIMEOUT).until(
                        lambda d: d.find_element(By.CSS_SELECTOR, "div.justify-center iframe")
                    )
                    browser.switch_to.frame(frame)
                    body = WebDriverWait(browser, TIMEOUT).until(
                        lambda d: d.find_elements(By.CSS_SELECTOR, "table tbody tr")
                    )
                    if path.endswith("explanations.html"):
                        check_explanations_view(browser, body, default_run, report.parent)
                    else:
                        assert len(body) == table_rows
                    browser.switch_to.default_content()
                else:
                    width, height = shown_image(browser, entry["data_uri"])
                    assert width > 200 and height > 100, path
                    if path.endswith("mf1.svg"):
                        browser.save_screenshot(str(report.parent / "report.png"))
                shown += 1
    assert shown == sum(len(p) for s in categories.values() for p in s.values()) - 1
    screenshot = report.parent / "report.png"
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    errors = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon" not in entry["message"]
    ]
    assert not errors, errors
