"""Make the README's picture of the view, results/view/orgsim_view.png (``make screenshot``).

Serves ``orgsim view scenarios/central_it.toml --ticks 300`` on a free port, opens it in
headless Chromium (Debian's ``chromium`` package; Playwright drives it), switches the
structure to micro_provider, plays at 25 days a frame to day 150 or later, pauses and saves
the page. tests/test_view.py drives the page the same way, writing its picture to a
temporary folder.

    .venv/bin/python scripts/screenshot_view.py [--out PATH] [--scenario PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 600_000  # generous: a loaded machine renders a frame in seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "view" / "orgsim_view.png")
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "central_it.toml")
    args = parser.parse_args(argv)
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    if browser is None:
        print("screenshot_view: no chromium binary (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    with reserved_port() as port:
        server = serve_view(args.scenario, port)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for_server(url, server)
            shoot(url, browser, args.out)
        finally:
            stop(server)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    """A port the OS hands out (bind to port 0), held until the block ends, so no other process
    can take it between this choice and the server's bind. The holding socket never listens
    and sets SO_REUSEADDR, as the server does (orgsim's address check and asyncio's server), so
    the server can bind and listen on it while it is held. (orgsim view --port 0 is refused.)"""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def serve_view(scenario: Path, port: int, log: Path | None = None, *options: str) -> subprocess.Popen:
    """``orgsim view SCENARIO`` (300 days, 100 of warm-up) on ``port``, its output to ``log``
    (else to this process's)."""
    command = [sys.executable, "-m", "sim", "view", str(scenario), "--ticks", "300"]
    command += ["--set", "simulation.warmup_ticks=100", "--port", str(port), *options]
    if log is None:
        return subprocess.Popen(command, cwd=ROOT)
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_for_server(url: str, server: subprocess.Popen, log: Path | None = None, timeout: float = 300) -> None:
    """Poll ``url`` until the server answers; RuntimeError (with ``log``) if it exits first or
    ``timeout`` passes."""
    shown = f":\n{log.read_text()}" if log is not None else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"orgsim view exited with {server.returncode}{shown}")
        try:
            with urllib.request.urlopen(url, timeout=10):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"orgsim view did not answer at {url} within {timeout} s{shown}")


def stop(server: subprocess.Popen) -> None:
    """End the server (SIGTERM, then SIGKILL after a minute)."""
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def shoot(url: str, executable: str, out: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page.goto(url)
        page.get_by_text(re.compile(r"^Day 0 of 300 · central_it")).wait_for()
        before = page.locator(".vue-grid-item img").first.get_attribute("src")
        page.locator(".v-select").filter(has_text="Structure").click()
        page.get_by_role("option", name="micro_provider").click()
        page.get_by_role("button", name="Reset").click()
        page.get_by_text(re.compile(r"^Day 0 of 300 · micro_provider")).wait_for()
        render_interval = page.locator(".v-input").filter(has_text="Render Interval")
        render_interval.locator("[role=slider]").focus()
        page.keyboard.press("PageUp")  # 5 -> 25 days a frame
        expect(render_interval.locator("input").first).to_have_value("25")
        page.get_by_role("button", name="▶").click()
        page.wait_for_function(
            "() => { const m = document.body.innerText.match(/Day (\\d+) of 300 · micro_provider/);"
            " return m && Number(m[1]) >= 150; }"
        )
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="▶").wait_for()
        page.wait_for_function(  # the last frame's figures drawn and loaded
            "(before) => { const images = [...document.querySelectorAll('.vue-grid-item img')];"
            " return images.length >= 4 && images[0].getAttribute('src') !== before"
            " && images.every((image) => image.complete && image.naturalWidth > 0); }",
            arg=before,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
