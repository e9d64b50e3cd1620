"""The examples in README.md and docs/*.md run as written (Sphinx's doctest builder runs them too)."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_in_the_document_run_as_written(path: Path) -> None:
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    parser = doctest.DocTestParser()
    test = parser.get_doctest(path.read_text(encoding="utf-8"), {}, path.name, str(path), 0)
    runner = doctest.DocTestRunner(optionflags=flags)
    report: list[str] = []

    runner.run(test, out=report.append)

    assert runner.failures == 0, "".join(report)


def test_the_readme_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]

    commands = [line.strip() for line in quick_start.splitlines() if line.strip().startswith("python3 ")]

    assert len(commands) == 2
    assert "bigledger-customers" in commands[0]
    assert "nox -s tests" in commands[1]


def test_ci_runs_readme_command_two_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command_two = next(line.strip() for line in readme.splitlines() if "nox -s tests" in line and "python3" in line)

    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

    assert any(line.startswith(command_two) for line in ci.splitlines())
