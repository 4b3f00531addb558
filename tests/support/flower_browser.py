"""Flower's pages in a real browser: Debian's headless chromium driven through chromium-driver by
selenium. Screenshots go to $AGENT_SCREENSHOTS (docs/images refreshes the ones docs/operations.md
shows), else to a temporary directory, so a test run leaves the checkout as it was."""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(os.environ.get("AGENT_SCREENSHOTS") or Path(tempfile.gettempdir()) / "agent-screenshots")


def squeezed(text: str) -> str:
    return "".join(text.split())


class FlowerPages:
    def __init__(self, driver: webdriver.Chrome, url: str, auth: tuple[str, str]) -> None:
        self.driver, self.url, self.auth = driver, url, auth
        self.wait = WebDriverWait(driver, 30)

    def log_in(self) -> None:
        """Basic auth: the browser sends the credentials with every request from now on."""
        token = base64.b64encode(":".join(self.auth).encode()).decode()
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}})

    def open_workers(self) -> None:
        self.driver.get(self.url + "/workers")
        self.wait.until(expected_conditions.title_contains("Workers"))

    def open_tasks(self) -> None:
        self.driver.get(self.url + "/tasks")
        self.wait.until(expected_conditions.title_contains("Tasks"))

    def wait_for_text(self, text: str) -> None:
        """Until the page shows `text` (a narrow column may break it over lines)."""
        self.wait.until(lambda driver: squeezed(text) in squeezed(driver.find_element(By.TAG_NAME, "body").text))

    def wait_for_row(self, *cells: str) -> None:
        """Until a row of the page's table holds all of `cells`."""
        def found(driver: webdriver.Chrome) -> bool:
            rows = [squeezed(row.text) for row in driver.find_elements(By.CSS_SELECTOR, "table tbody tr")]
            return any(all(squeezed(c) in row for c in cells) for row in rows)
        self.wait.until(found)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        assert self.driver.save_screenshot(str(path)), f"no screenshot {path}"
        return path


@contextmanager
def flower_browser(url: str, auth: tuple[str, str]) -> Iterator[FlowerPages]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,900", "--lang=en-US"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield FlowerPages(driver, url, auth)
    finally:
        driver.quit()
