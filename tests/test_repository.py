"""The repository itself: the questions are documented, CI runs the README's command, and the
suite keeps its layout."""

import ast
import json
import re
import subprocess

from conftest import QUESTIONS, TEMPLATE


def test_every_question_has_a_readable_prompt_and_a_row_in_the_readme():
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert set(config["__prompts__"]) == QUESTIONS
    readme = (TEMPLATE / "README.md").read_text()
    for question in QUESTIONS:
        assert f"`{question}`" in readme, question


def test_ci_runs_the_test_command_the_readme_gives():
    readme = (TEMPLATE / "README.md").read_text()
    commands = re.findall(r"```bash\n(.+?)\n```", readme)
    test_command = next(command for command in commands if "pytest" in command)
    assert test_command in (TEMPLATE / ".ci" / "run").read_text().splitlines()


def test_nothing_generated_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=TEMPLATE, capture_output=True,
                             text=True).stdout.splitlines()
    generated = re.compile(r"(^|/)(\.env$|db\.sqlite3$|\.venv/|__pycache__/|staticfiles/)")
    assert [path for path in tracked if generated.search(path)] == []


def test_one_uv_release_runs_the_tests_locks_the_tested_versions_and_builds_the_image():
    """The test group's uv locked the tested versions, the image installs that release,
    and the README's test command installs the test group with it."""
    import tomllib

    test_group = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["dependency-groups"]
    pinned = {line.split("==")[1] for line in test_group["test"] if line.startswith("uv==")}
    import combinations

    tested = combinations.tested_versions_script().tested()["uv"]
    readme_uv = set(re.findall(r"pip install -q uv==([\d.]+) ", (TEMPLATE / "README.md").read_text()))
    assert pinned == readme_uv == {tested}


def test_no_tracked_file_names_a_package_index():
    """A lock written here would carry the index's URL for every package (and bind every
    user to that index): the template keeps versions, never where they came from."""
    tracked = subprocess.run(["git", "ls-files"], cwd=TEMPLATE, capture_output=True,
                             text=True).stdout.splitlines()
    assert not [path for path in tracked if path.rsplit("/", 1)[-1] in {"uv.lock"}
                or re.search(r"(^|/)pylock[^/]*\.toml$", path)]
    found = subprocess.run(["git", "grep", "-I", "-l", "-E",
                            r'source = \{ registry = "https?://|--index-url https?://'],
                           cwd=TEMPLATE, capture_output=True, text=True).stdout.split()
    assert found == []


def test_what_the_tests_and_the_bakes_both_install_is_at_the_tested_version():
    """A package the test group shares with the bakes (Django, psycopg, sentry-sdk, ...) is
    at a version the bakes pin: the tests run startapp and read envelopes with the code
    the projects run."""
    import tomllib

    import combinations

    def name(pin):
        return re.split(r"[\[=]", pin, maxsplit=1)[0].lower()

    baked = {}
    for found in combinations.tested_versions_script().tested()["sets"].values():
        for pin in [pin for pin, _ in found["dependencies"] + found["constraints"]] + found["dev"]:
            baked.setdefault(name(pin), set()).add(pin.rsplit("==", 1)[1])
    test_group = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["dependency-groups"]
    shared = {name(pin): pin.rsplit("==", 1)[1] for pin in test_group["test"]
              if name(pin) in baked}
    assert {"django", "sentry-sdk", "pytest"} <= set(shared)
    assert {package: version for package, version in shared.items()
            if version not in baked[package]} == {}


def test_the_templates_own_code_passes_its_linter(tools):
    """The hooks, the tests and the benchmarks, by the rules in pyproject.toml."""
    done = subprocess.run([tools["ruff"], "check", "."], cwd=TEMPLATE, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_test_modules_import_no_other_test_module_and_helpers_live_in_support():
    tests = TEMPLATE / "tests"
    modules = {path.stem for path in tests.glob("test_*.py")}
    imported = {}
    for path in tests.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            imported[path.name] = imported.get(path.name, set()) | (set(names) & modules)
    assert {name: found for name, found in imported.items() if found} == {}
    # Beside the test modules only conftest.py: everything they share is in support/.
    assert sorted(path.name for path in tests.glob("*.py")
                  if not path.name.startswith("test_")) == ["conftest.py"]
