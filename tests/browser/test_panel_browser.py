"""The panel in a real browser (Debian's chromium through Playwright) served by a real
`mickill web` (waitress) beside a real daemon on simulated pins: first run to ledger."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from web_support import PASSWORD, ask, setup_code, start_daemon, stop  # noqa: E402

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WIDTHS = {"phone": 375, "desktop": 1280}
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs chromium (apt install chromium)")


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    daemon = start_daemon(folder)
    web = subprocess.Popen([sys.executable, "-m", "mickill.cli.main", "web", "--data", str(folder),
                            "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = web.stdout.readline()
    match = re.search(r"(http://\S+?)/?$", line.strip())
    assert match, f"mickill web printed {line!r}; stderr: {web.stderr.read() if web.poll() is not None else ''}"
    yield folder, match.group(1)
    web.terminate()
    web.wait(timeout=10)
    web.stdout.close()
    web.stderr.close()
    stop(daemon)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def shoot(browser, url_path: str, base: str, name: str, storage) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for label, width in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": 900}, storage_state=storage)
        page = context.new_page()
        page.goto(base + url_path)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        # Usable at this width: nothing wider than the screen but the scrolling tables.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} overflows {width}px by {overflow}px"
        context.close()


def accessibility(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_first_run_to_ledger(panel, browser):
    folder, base = panel
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))

    # First run: everything leads to setup; the code comes from `mickill setup-code`.
    page.goto(base + "/")
    assert page.url.endswith("/setup")
    assert accessibility(page) == []
    code = subprocess.run([sys.executable, "-m", "mickill.cli.main", "setup-code", "--data", str(folder)],
                          capture_output=True, text=True, check=True).stdout.strip()
    page.get_by_label("Setup code").fill(code)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    page.wait_for_url(base + "/")
    assert page.locator(".state-word").inner_text() == "LIVE"
    assert accessibility(page) == []

    # A locked night window, seen in the week view and its list.
    page.goto(base + "/schedule/window/new")
    page.get_by_label("Name").fill("Night")
    page.get_by_label("Start (HH:MM)").fill("22:00")
    page.get_by_label("End (HH:MM)").fill("07:00")
    page.get_by_label("Locked: only the physical button can open it").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(base + "/schedule")
    assert "Saved the window" in page.content()
    assert page.locator("svg.week text.seg-label", has_text="CUT, LOCKED").count() >= 7
    assert page.get_by_role("cell", name="Night", exact=True).count() == 1
    assert accessibility(page) == []

    # The virtual button cuts the mic; the dashboard follows without a reload.
    dashboard = context.new_page()
    dashboard.goto(base + "/")
    dashboard.evaluate("window.notReloaded = true")
    assert dashboard.locator(".state-word").inner_text() == "LIVE"
    page.goto(base + "/simulator")
    assert accessibility(page) == []
    button = page.locator("#virtual-button")
    button.hover()
    page.mouse.down()
    page.mouse.up()
    playwright_api.expect(dashboard.locator(".state-word")).to_have_text("CUT", timeout=3000)
    assert dashboard.evaluate("window.notReloaded") is True
    playwright_api.expect(page.locator("[data-sim=state]")).to_have_text("CUT", timeout=3000)

    # Inside a locked window the panel cannot open the mic, and says why.
    schedule = ask(folder, "schedule.get")["schedule"]
    schedule["window"] = [{"name": "All day", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                           "start": "00:00", "end": "00:00", "state": "muted", "locked": True}]
    ask(folder, "schedule.set", schedule=schedule)
    dashboard.reload()
    dashboard.get_by_role("button", name="Unmute").click()
    refusal = dashboard.locator(".flash-error")
    playwright_api.expect(refusal).to_contain_text("locked")
    assert dashboard.locator(".state-word").inner_text() == "CUT"

    page.goto(base + "/ledger")
    assert page.locator("svg.daybar").count() == 7
    assert "the button" in page.content()
    assert accessibility(page) == []
    for path in ("/settings", "/ledger?days=30"):
        page.goto(base + path)
        assert accessibility(page) == [], path
    assert errors == []

    storage = context.storage_state()
    for path, name in (("/", "dashboard"), ("/schedule", "schedule"), ("/ledger", "ledger"),
                       ("/settings", "settings"), ("/simulator", "simulator")):
        shoot(browser, path, base, name, storage)
    context.close()
