"""The baked README's diagrams of a request's path: one per Convox generation, in Mermaid,
which GitHub renders. Each is rendered here by Mermaid itself, in Debian's Chromium, as
GitHub's viewer renders it: it must parse, and show what the bake's answers put on the
path (the series, the database server, the worker and its queue only when chosen).

Mermaid comes from the npm registry (`npm pack`, the one bundled file it ships for
browsers), at the version below, into the tests' cache folder.
"""

import re
import shutil
import subprocess
import tarfile

import pytest
from conftest import require
from podman import CACHE

pytestmark = pytest.mark.slow

MERMAID = "12.4.0"
GENERATIONS = ("v3 rack", "v2 rack", "first-generation app")
RENDER = """async (diagrams) => {
    mermaid.initialize({startOnLoad: false});
    const rendered = [];
    for (const [index, code] of diagrams.entries()) {
        const {svg} = await mermaid.render(`diagram${index}`, code);
        const holder = document.createElement("div");
        holder.innerHTML = svg;
        rendered.push({
            nodes: holder.querySelectorAll("g.node").length,
            text: holder.textContent.replace(/\\s+/g, " "),
        });
    }
    return rendered;
}"""


@pytest.fixture(scope="module")
def mermaid_js():
    bundle = CACHE / f"mermaid-{MERMAID}.min.js"
    if not bundle.exists():
        npm = shutil.which("npm")
        require(npm, "npm (Debian's npm package), to fetch Mermaid from the npm registry")
        folder = CACHE / f"mermaid-{MERMAID}"
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "pack", f"mermaid@{MERMAID}", "--silent"], cwd=folder,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        with tarfile.open(folder / done.stdout.strip().splitlines()[-1]) as archive:
            source = archive.extractfile("package/dist/mermaid.min.js").read()
        bundle.write_bytes(source)
        shutil.rmtree(folder)
    return bundle.read_text()


def render(mermaid_js, diagrams):
    from browser import CHROMIUM, FLAGS
    from playwright.sync_api import sync_playwright

    require(shutil.which(CHROMIUM), "Chromium (Debian's chromium package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.set_content("<html><body></body></html>")
            page.add_script_tag(content=mermaid_js)
            return page.evaluate(RENDER, diagrams)
        finally:
            browser.close()


def diagrams_by_generation(readme):
    """{generation: Mermaid code}, each diagram after the paragraph that names it."""
    section = readme.split("\n## How a request reaches Django\n", 1)[1].split("\n## ", 1)[0]
    found = {}
    for prose, code in re.findall(r"(.*?)```mermaid\n(.*?)\n```", section, re.DOTALL):
        [generation] = [name for name in GENERATIONS if f"**{name}**" in prose]
        found[generation] = code
    return found


@pytest.mark.parametrize("answers", [
    {},
    {"django_version": "6.1", "database": "mysql", "background_tasks": "celery"},
    {"background_tasks": "django-tasks"},
], ids=["default", "6.1-mysql-celery", "django-tasks"])
def test_each_generation_has_a_diagram_that_renders_the_bakes_request_path(
        answers, bake, mermaid_js):
    result = bake(**answers)
    assert result.exit_code == 0, result.exception
    context = result.context
    readme = (result.project_path / "README.md").read_text()
    diagrams = diagrams_by_generation(readme)
    assert set(diagrams) == set(GENERATIONS)
    server = "MariaDB" if context["database"] == "mysql" else "PostgreSQL"
    tasks = context["background_tasks"]
    for generation, seen in zip(diagrams, render(mermaid_js, list(diagrams.values()))):
        text = seen["text"]
        for part in ("Browser", "nginx", "gunicorn", f"Django {context['django_version']}",
                     server):
            assert part in text, (generation, part, text)
        assert ("worker" in text) is (tasks != "none"), (generation, text)
        assert ("redis" in text) is (tasks == "celery"), (generation, text)
        assert seen["nodes"] >= 6 + (tasks != "none") + (tasks == "celery"), (generation, seen)
