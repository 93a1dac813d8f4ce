"""Open a report in headless Chromium (Debian's package) through Playwright and inspect it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium not installed: run scripts/setup.sh (apt-get install -y chromium)")
    return path


def open_report(html_path: Path, screenshot: Path | None = None) -> dict:
    """Load the page from file://, select every example/layer/head, return what the page did.

    Returns console errors, page errors, every request other than the page itself, and DOM facts.
    """
    from playwright.sync_api import sync_playwright

    console_errors: list[str] = []
    page_errors: list[str] = []
    requests: list[str] = []
    url = html_path.resolve().as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url) if r.url != url else None)
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            facts: dict = {"sections": page.eval_on_selector_all("main > section", "els => els.map(e => e.id)"),
                           "not_run": page.eval_on_selector_all("[data-not-run]",
                                                                "els => els.map(e => e.dataset.notRun)"),
                           "plots": page.locator("svg.plot").count(), "heatmap_cells": {}}
            if page.locator("#sel-layer").count():
                layers = page.eval_on_selector_all("#sel-layer option", "o => o.map(x => x.value)")
                heads = page.eval_on_selector_all("#sel-head option", "o => o.map(x => x.value)")
                examples = page.eval_on_selector_all("#sel-example option", "o => o.map(x => x.value)")
                for ex in examples:
                    page.select_option("#sel-example", ex)
                    for layer in layers:
                        page.select_option("#sel-layer", layer)
                        for head in heads:
                            page.select_option("#sel-head", head)
                            n = page.locator("#attr-heatmap rect.cell").count()
                            facts["heatmap_cells"][(ex, layer, head)] = n
                    facts.setdefault("visible_trees", []).append(page.locator(
                        '.per-example[data-group="attr"]:not([hidden])').count())
                page.select_option("#sel-example", examples[0])
                page.select_option("#sel-layer", layers[-1])
                page.select_option("#sel-head", "sum")
                facts["layers"], facts["heads"], facts["examples"] = layers, heads, examples
                facts["first_tooltip"] = page.locator("#attr-heatmap rect.cell title").first.text_content()
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return {"console_errors": console_errors, "page_errors": page_errors, "requests": requests, **facts}
