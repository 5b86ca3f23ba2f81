"""A real headless Chromium against the real dashboard server (a subprocess on a free loopback port): the page loads
with its figures, a slider filters, a clicked point fills the details panel, and the exported report opens as a
file. Skipped only when Debian's chromium / chromedriver are not installed (.ci/run installs them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from metta.common.net import free_loopback_port
from metta.sweep.dashboard.export import write_report
from metta.sweep.dashboard.source import load_snapshot
from metta.sweep.dashboard.synthetic import write_synthetic_sweep
from metta.sweep.store import open_store
from tests.dashboard.conftest import write_run_dir

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "experiments" / "dashboards" / "sweep_dashboard.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT = 180  # generous: the machine may be busy with other work

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="Debian chromium and chromium-driver are not "
        "installed (apt-get install -y chromium chromium-driver; .ci/run does it)",
    ),
]


def _wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dashboard exited early ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"dashboard did not answer at {url} within {WAIT}s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("browser")
    store = open_store(data_dir / "sweep" / "sweeps.db")  # the sweep's default store for this data_dir
    try:
        write_synthetic_sweep(store, "web", 120, seed=5)
    finally:
        store.close()
    for i in range(120):
        write_run_dir(data_dir / "sweep" / "web", f"web.r.{i}", seed=100 + i)
    port = free_loopback_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    log_path = data_dir / "server.log"
    log = open(log_path, "w")  # a file, not a pipe: the request log must never block the server
    proc = subprocess.Popen(
        [sys.executable, str(CLI), "--sweep-name", "web", "--port", str(port), "--refresh-seconds", "30"],
        env=env,
        cwd=str(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/", proc, log_path)
        yield f"http://127.0.0.1:{port}/", data_dir
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(WAIT)
    try:
        yield d
    finally:
        d.quit()


def _text(d: object, element_id: str) -> str:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return d.find_element(By.ID, element_id).text  # type: ignore[attr-defined]
    except StaleElementReferenceException:
        return ""


def test_page_loads_filters_and_shows_a_clicked_run(served: tuple[str, Path], driver: object, tmp_path: Path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, data_dir = served
    d = driver
    wait = WebDriverWait(d, WAIT, poll_frequency=0.25)
    d.get(url)  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cost-score .scatterlayer .trace path.point"))
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 7)
    wait.until(lambda d: _text(d, "filter-note") == "showing 120 of 120 observations")
    assert "RUNS\n120" in _text(d, "cards").upper()

    # drag the lower score handle to the right: fewer runs are shown
    thumb = d.find_element(By.CSS_SELECTOR, "#score-range .dash-slider-thumb-1")  # type: ignore[attr-defined]
    track = d.find_element(By.CSS_SELECTOR, "#score-range .dash-slider-track")  # type: ignore[attr-defined]
    ActionChains(d).drag_and_drop_by_offset(thumb, int(track.size["width"] * 0.5), 0).perform()
    wait.until(
        lambda d: _text(d, "filter-note").startswith("showing ") and int(_text(d, "filter-note").split()[1]) < 120
    )

    # click a run in the cost-vs-score chart: the details panel shows that run, its seed and its log path
    def clicked(d: object) -> bool:
        if "web.r." in _text(d, "details"):
            return True
        pts = d.find_elements(By.CSS_SELECTOR, "#cost-score .scatterlayer .trace:first-child path.point")
        if pts:
            ActionChains(d).move_to_element(pts[len(pts) // 2]).pause(0.2).click().perform()
        return "web.r." in _text(d, "details")

    WebDriverWait(d, WAIT, poll_frequency=2).until(clicked)
    details = _text(d, "details")
    run_id = next(w for w in details.split() if w.startswith("web.r."))
    seed = 100 + int(run_id.rsplit(".", 1)[-1])
    assert f"seed {seed}" in details and f"{run_id}/train.log" in details
    d.save_screenshot(str(tmp_path / "dashboard.png"))  # type: ignore[attr-defined]
    if os.environ.get("METTA_DASHBOARD_SCREENSHOT"):
        d.save_screenshot(os.environ["METTA_DASHBOARD_SCREENSHOT"])  # type: ignore[attr-defined]
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_exported_report_opens_as_a_file(served: tuple[str, Path], driver: object, tmp_path: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _, data_dir = served
    snap = load_snapshot(str(data_dir / "sweep" / "sweeps.db"), "web")
    path = write_report(snap, tmp_path / "report.html")
    d = driver
    d.get(path.resolve().as_uri())  # type: ignore[attr-defined]
    wait = WebDriverWait(d, WAIT, poll_frequency=0.25)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= 6)
    best = d.find_element(By.ID, "best-runs").text  # type: ignore[attr-defined]
    assert best.startswith("web.r.") or "web.r." in best
    assert len(d.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")) == 120  # type: ignore[attr-defined]
