"""A real browser visit: Debian's Chromium, driven by Playwright, never a downloaded one.

    python browser.py BASE_URL USERNAME PASSWORD SCREENSHOT_FOLDER

Loads the home page, reads the computed style its stylesheet gives, signs into the admin
through the login form, and prints what it saw as JSON. test_image.py runs it with
`ip netns exec`, inside the container's network namespace.
"""

import json
import sys
import tempfile
import urllib.parse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def visit(base_url, username, password, screenshots):
    # The site's name leads to this network namespace's loopback, where the router listens.
    host = urllib.parse.urlsplit(base_url).hostname
    seen = {}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=[*FLAGS, f"--host-resolver-rules=MAP {host} 127.0.0.1"], headless=True,
            # The router's certificate: the test made it a moment ago.
            ignore_https_errors=True,
        )
        try:
            page = context.new_page()
            response = page.goto(f"{base_url}/")
            seen["home"] = {
                "status": response.status,
                "url": page.url,
                "heading": page.locator("h1").inner_text(),
                "h1_color": page.eval_on_selector("h1", "e => getComputedStyle(e).color"),
                "background": page.eval_on_selector(
                    "body", "e => getComputedStyle(e).backgroundColor"),
                "stylesheets": page.evaluate(
                    "[...document.styleSheets].map(s => s.href)"),
            }
            page.screenshot(path=Path(screenshots) / "home.png", full_page=True)

            page.goto(f"{base_url}/admin/")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            with page.expect_navigation():
                page.click("input[type=submit]")
            seen["admin"] = {
                "url": page.url,
                "title": page.title(),
                "heading": page.locator("#site-name").inner_text(),
                "cookies": [cookie["name"] for cookie in context.cookies()],
            }
            page.screenshot(path=Path(screenshots) / "admin.png", full_page=True)
        finally:
            context.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(visit(*sys.argv[1:5])))
