"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``, ``nox -s docs``, ``nox -s build``,
``nox -s bench``.

Dependencies come from pyproject's ``[dependency-groups]``, read here with ``nox.project`` rather than
``pip install --group`` so that any pip (the machine's may predate dependency groups) can install them.
The package is installed editable: pytest collects doctests from ``src/`` and loads our pytest plugin
through its entry point, and both must be the same module objects.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2024.10"
# uv when the machine has it (much faster), else the standard library's venv; never virtualenv.
nox.options.default_venv_backend = "uv|venv" if shutil.which("uv") else "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


def _install(session: nox.Session, *groups: str, extras: str = "") -> None:
    """Install the package (editable, with ``extras``) and the named dependency groups."""
    session.install("-e", f".{extras}", *nox.project.dependency_groups(PYPROJECT, *groups))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: unit, property, contract (memory, SQLite, PostgreSQL, MariaDB), CLI and doc tests.

    Runs on every core (pytest-xdist ``-n auto``; each worker gets its own databases). Pass pytest
    options after ``--``, e.g. ``nox -s tests -- -n 0 -m "not postgresql" -x`` (``-n 0``: one process).
    """
    _install(session, "test", extras="[postgresql,mysql]")
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (rules and formatting) and the import-linter layer contracts."""
    _install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package (the files and overrides are in pyproject's [tool.mypy])."""
    _install(session, "lint", extras="[postgresql]")
    session.run("mypy", "--strict", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx docs with warnings as errors, then run their examples as doctests."""
    _install(session, "docs")
    build = ROOT / "docs" / "_build"
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", str(build / "html"))
    session.run("sphinx-build", "-W", "--keep-going", "-b", "doctest", "docs", str(build / "doctest"))


@nox.session
def build(session: nox.Session) -> None:
    """The sdist and the wheel into ``dist/`` (``python -m build``), then ``twine check`` on both."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "release"))
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    session.run("twine", "check", "--strict", *sorted(str(p) for p in dist.iterdir()))


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks (DESIGN.md section 7): every script in ``benchmarks/``, or those named after ``--``.

    ``nox -s bench -- febrl`` runs ``benchmarks/febrl.py``. A no-op until ``benchmarks/`` exists.
    """
    benchmarks = ROOT / "benchmarks"
    scripts = sorted(p for p in benchmarks.glob("*.py") if not p.name.startswith("_")) if benchmarks.is_dir() else []
    if session.posargs:
        wanted = {name.removesuffix(".py") for name in session.posargs}
        scripts = [p for p in scripts if p.stem in wanted]
    if not scripts:
        session.skip("no benchmark scripts in benchmarks/")
    groups = [g for g in ("test", "bench") if g in PYPROJECT.get("dependency-groups", {})]
    _install(session, *groups, extras="[postgresql,mysql]")
    for script in scripts:
        session.run("python", str(script))
