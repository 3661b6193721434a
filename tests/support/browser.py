"""A real browser visit: Debian's Chromium, driven by Playwright, never a downloaded one.

    python browser.py BASE_URL USERNAME PASSWORD SCREENSHOT_FOLDER

Loads the home page, reads the computed style its stylesheet gives, loads a page that is
not there, signs into the admin through the login form and opens its user pages, and
prints what it saw as JSON, with every content security policy violation the browser
reported in its console on each page. Last, a control: a script injected into the home
page, which the policy must block with exactly one report. test_image.py runs it with
`ip netns exec`, inside the container's network namespace.
"""

import json
import sys
import tempfile
import urllib.parse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Chromium's console line for each blocked resource or script.
VIOLATION = "Content Security Policy"
# What an attacker's injected markup would do: an inline script, which the policy blocks.
INJECT = """() => {
    const script = document.createElement("script");
    script.textContent = "window.injected = true";
    document.body.append(script);
}"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def visit(base_url, username, password, screenshots):
    # The site's name leads to this network namespace's loopback, where the router listens.
    host = urllib.parse.urlsplit(base_url).hostname
    seen, violations, visiting = {}, {}, ["home"]

    def heard(message):
        """Files a violation the console reports under the page being visited."""
        if VIOLATION in message.text:
            violations.setdefault(visiting[0], []).append(message.text)

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=[*FLAGS, f"--host-resolver-rules=MAP {host} 127.0.0.1"], headless=True,
            # The router's certificate: the test made it a moment ago.
            ignore_https_errors=True,
        )
        try:
            page = context.new_page()
            page.on("console", heard)
            response = page.goto(f"{base_url}/")
            seen["home"] = {
                "status": response.status,
                "url": page.url,
                "heading": page.locator("h1").inner_text(),
                "text": page.locator("body").inner_text(),
                "h1_color": page.eval_on_selector("h1", "e => getComputedStyle(e).color"),
                "background": page.eval_on_selector(
                    "body", "e => getComputedStyle(e).backgroundColor"),
                "stylesheets": page.evaluate(
                    "[...document.styleSheets].map(s => s.href)"),
            }
            page.screenshot(path=Path(screenshots) / "home.png", full_page=True)

            visiting[0] = "404"
            seen["404"] = {"status": page.goto(f"{base_url}/no-such-page/").status}

            visiting[0] = "admin"
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
            for path in ("/admin/accounts/user/", "/admin/accounts/user/add/"):
                page.goto(f"{base_url}{path}")
            seen["csp_violations"] = violations

            # The control: the listener hears a violation the policy is known to cause.
            visiting[0] = "control"
            page.goto(f"{base_url}/")
            with page.expect_console_message(lambda message: VIOLATION in message.text):
                page.evaluate(INJECT)
            seen["csp_control"] = {"violations": len(violations.pop("control")),
                                   "injected_script_ran": page.evaluate("window.injected === true")}
        finally:
            context.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(visit(*sys.argv[1:5])))
