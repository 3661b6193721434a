"""The repository itself: the questions are documented, and CI runs the README's command."""

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
