#!/usr/bin/env python3
"""Serve the sweep dashboard on a free loopback port, load it in headless Chromium and save a PNG screenshot.

    python experiments/dashboards/screenshot.py --out bench/out/dashboard.png -- --sweep-name my_sweep
    python experiments/dashboards/screenshot.py --out shot.png --height 2400 -- --sweep-name s --store sweeps.db

Arguments after ``--`` go to sweep_dashboard.py. Needs Debian's ``chromium`` and ``chromium-driver``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from metta.common.net import free_loopback_port

HERE = Path(__file__).resolve().parent
WAIT_S = 180


def _wait_http(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the dashboard exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the dashboard did not answer at {url} within {WAIT_S}s")


def capture(url: str, out: Path, width: int, height: int, click: bool, full_page: bool = True) -> None:
    """Load ``url``, wait for the figures (and click the best run when asked), save the PNG."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium") or "chromium"
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=opts)
    try:
        d.get(url)
        wait = WebDriverWait(d, WAIT_S, poll_frequency=0.25)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cost-score .scatterlayer .trace path.point"))
        if click:
            # traces: runs, Pareto frontier, best run (star), failures
            star = (
                d.find_elements(By.CSS_SELECTOR, "#cost-score .scatterlayer .trace:nth-child(3) path.point")
                or d.find_elements(By.CSS_SELECTOR, "#cost-score .scatterlayer .trace path.point")
            )[-1]
            ActionChains(d).move_to_element(star).pause(0.3).click().perform()
            wait.until(lambda d: ".r." in d.find_element(By.ID, "details").text)
            time.sleep(1.0)  # let plotly finish its hover transition before the picture
        if full_page:  # grow the window to the whole page, let plotly re-layout, then take the picture
            page_h = int(d.execute_script("return document.documentElement.scrollHeight"))
            d.set_window_size(width, page_h + 200)
            time.sleep(1.5)
        out.parent.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(out))
    finally:
        d.quit()
    _shrink_png(out)


def _shrink_png(path: Path) -> None:
    """Re-encode the screenshot with a 256-colour palette (the page is flat colours; about a third of the size)."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main(argv: list[str]) -> int:
    if "--" in argv:
        i = argv.index("--")
        own, dash_args = argv[:i], argv[i + 1 :]
    else:
        own, dash_args = argv, []
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="PNG path")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1800, help="window height (the picture covers the whole page)")
    p.add_argument("--no-click", action="store_true", help="do not click the best run before the picture")
    a = p.parse_args(own)
    port = free_loopback_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "sweep_dashboard.py"), *dash_args, "--port", str(port), "--refresh-seconds", "0"]
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url, proc)
        capture(url, Path(a.out), a.width, a.height, not a.no_click)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"wrote {a.out} ({Path(a.out).stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
