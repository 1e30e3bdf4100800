"""A real browser against the page: the OS's headless Chromium, driven by Selenium, talks to
uvicorn on 127.0.0.1. The deputy filters remarks to one teacher and downloads that teacher's
D1 as PDF; the secretary verifies a bag. Skipped (with the reason) only without Chromium."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from pypdf import PdfReader
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from web_site import PASSWORD, build_site

from asurso_sync.web import make_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()

pytestmark = [pytest.mark.pdf, pytest.mark.slow]


@pytest.fixture
def server(tmp_path, store_copy):
    site = build_site(tmp_path / "site", store_copy["store"])
    app = make_app(site.settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=5)
    app.state.jobs.shutdown()


@pytest.fixture
def browser(tmp_path):
    if not HAVE_BROWSER:
        reason = f"no Chromium here ({CHROMIUM}, {CHROMEDRIVER}): apt-get install chromium chromium-driver"
        print(reason)
        pytest.skip(reason)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "plugins.always_open_pdf_externally": True,
        },
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    yield driver
    driver.quit()


def log_in(driver, base: str, login: str) -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.NAME, "login").send_keys(login)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_deputy_downloads_a_teacher_d1_and_secretary_verifies_a_bag(server, browser):
    log_in(browser, server, "zavuch")
    wait_for(lambda: browser.current_url.endswith("/summary"))
    assert "Сводка" in browser.title
    browser.find_element(By.LINK_TEXT, "Замечания").click()
    # choosing a teacher applies the filter at once (progressive JS)
    Select(browser.find_element(By.NAME, "teacher")).select_by_visible_text(
        "Петрова Мария Ивановна"
    )
    wait_for(lambda: "teacher=201" in browser.current_url)
    cells = browser.find_elements(By.CSS_SELECTOR, "table.remarks tbody tr td:nth-child(2)")
    assert cells and {c.text for c in cells} == {"Петрова Мария Ивановна"}
    browser.find_element(By.ID, "d1-pdf").click()
    pdf = wait_for(lambda: next(iter(browser.downloads.glob("*.pdf")), None))
    wait_for(lambda: not list(browser.downloads.glob("*.crdownload")))
    assert pdf.read_bytes().startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "Петрова Мария Ивановна" in text

    browser.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait_for(lambda: "/login" in browser.current_url)
    log_in(browser, server, "sekretar")
    wait_for(lambda: browser.current_url.endswith("/archive"))
    browser.find_element(By.CSS_SELECTOR, "button.verify-fast").click()
    # the job page follows the check with a progress bar until it is done
    wait_for(lambda: "/jobs/" in browser.current_url)
    state = wait_for(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, ".job").get_attribute("data-state")
            in ("ok", "failed")
            and browser.find_element(By.CSS_SELECTOR, ".job-state").text
        )
    )
    assert "Готово." in state and "в порядке: 1 пакет(ов) проверено" in state
