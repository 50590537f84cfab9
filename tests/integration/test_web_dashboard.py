"""warden-web's dashboard (web/static) in real headless Chromium, driven by Selenium through
chromium-driver: the table shows every program, a click on Restart changes the pid, the log
view shows a new line as it is written. The screenshot stays in the test's tmp_path."""

import shutil

import pytest

from conftest import wait_until
from webtools import web  # noqa: F401 (a fixture)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("chromedriver") is None,
                                reason="needs chromium and chromium-driver")

PROGRAMS = """\
web:
  command: ["sh", "-c", "echo web up; exec sleep 1000"]
  startsecs: 0
api:
  command: sleep 1000
  startsecs: 0
pool:
  command: sleep 1000
  numprocs: 2
  startsecs: 0
idle:
  command: sleep 1000
  autostart: false
"""


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(arg)
    service = Service(executable_path=shutil.which("chromedriver"),
                      log_path=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()  # ends chromium and chromedriver (by their pids)


# The table is rebuilt on every change: an element found a moment ago may be gone. These
# helpers look again instead of failing on a stale element.


def rows(driver):
    try:
        return {r.get_attribute("data-name"): r
                for r in driver.find_elements(By.CSS_SELECTOR, "#processes tbody tr")}
    except StaleElementReferenceException:
        return {}


def cell(driver, name, column):
    try:
        row = rows(driver).get(name)
        return row.find_element(By.CSS_SELECTOR, "td." + column).text if row else None
    except StaleElementReferenceException:
        return None


def click(driver, name, button):
    def once():
        try:
            rows(driver)[name].find_element(By.CSS_SELECTOR, "button." + button).click()
            return True
        except (StaleElementReferenceException, KeyError):
            return False
    wait_until(once, timeout=30, what=f"a click on {button} of {name}")


def test_dashboard_table_restart_and_log(warden, web, browser, tmp_path):
    warden.start(PROGRAMS)
    for name in ("web", "api", "pool:pool_00", "pool:pool_01"):
        warden.wait_state(name, "RUNNING")
    web.start(warden.socket)
    browser.set_page_load_timeout(60)
    browser.get(web.url + "/")

    expected = ["web", "api", "pool:pool_00", "pool:pool_01", "idle"]
    wait_until(lambda: sorted(rows(browser)) == sorted(expected), timeout=30,
               what="a row for every program")
    assert cell(browser, "web", "state") == "RUNNING"
    assert browser.find_elements(By.CSS_SELECTOR, 'tr[data-name="web"] td.state.state-RUNNING')
    assert cell(browser, "idle", "state") == "STOPPED"
    wait_until(lambda: browser.find_element(By.ID, "live").text == "live", timeout=30,
               what="the events stream to connect")

    old_pid = cell(browser, "web", "pid")
    assert old_pid == str(warden.status("web")["web"]["pid"])
    click(browser, "web", "log")
    wait_until(lambda: "web up" in browser.find_element(By.ID, "log").text, timeout=30,
               what="the log view to show web's output")
    lines_before = browser.find_element(By.ID, "log").text.count("web up")

    click(browser, "web", "restart")
    new_pid = wait_until(lambda: cell(browser, "web", "pid") not in (None, "", old_pid)
                         and cell(browser, "web", "pid"), timeout=60,
                         what="the pid in the table to change")
    assert new_pid == str(warden.status("web")["web"]["pid"])
    wait_until(lambda: browser.find_element(By.ID, "log").text.count("web up") > lines_before,
               timeout=30, what="the restarted program's new line in the log view")

    # A state change made elsewhere shows up live (events stream), without a click.
    warden.ctl("start", "idle", check=0)
    wait_until(lambda: cell(browser, "idle", "state") == "RUNNING", timeout=30,
               what="idle RUNNING in the table")
    assert browser.find_element(By.ID, "message").get_attribute("hidden") is not None

    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    print(f"screenshot: {shot}")
