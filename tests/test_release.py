"""Release readiness: the public API is what ``__all__`` says and all of it is documented; the version
is single-sourced; the built wheel (not the source tree) installs and runs the README's CLI command
and an example."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import bigledger_customers

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
#: The package and its public modules: each has ``__all__``, and each is documented by an
#: ``automodule`` directive with ``:members:`` in docs/*.md (the API reference, docs/api.md).
PUBLIC_MODULES = [
    "bigledger_customers",
    "bigledger_customers.errors",
    "bigledger_customers.integrations",
    "bigledger_customers.testing",
    "bigledger_customers.testing.factories",
    "bigledger_customers.testing.strategies",
    "bigledger_customers.testing.fakes",
    "bigledger_customers.testing.contract",
    "bigledger_customers.testing.generate",
]
_AUTOMODULE = re.compile(r"^\.\. automodule:: (\S+)\n((?:   :[\w-]+:.*\n)*)", re.MULTILINE)


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))


def _automodules() -> set[str]:
    """Modules the docs document with ``.. automodule:: NAME`` and ``:members:``."""
    return {m.group(1) for m in _AUTOMODULE.finditer(_docs_text()) if ":members:" in m.group(2)}


def _own_docstring(obj: Any) -> str | None:
    """The object's own docstring (a class does not inherit its base's here)."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return doc.strip() if isinstance(doc, str) and doc.strip() else None


def _public(module_name: str) -> tuple[ModuleType, list[str]]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module_name} has no __all__"
    return module, list(names)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_exists_and_has_a_docstring(module_name: str) -> None:
    module, names = _public(module_name)
    missing = [n for n in names if not hasattr(module, n)]
    undocumented = [
        n
        for n in names
        if hasattr(module, n)
        and (inspect.isclass(getattr(module, n)) or callable(getattr(module, n)))
        and _own_docstring(getattr(module, n)) is None
    ]

    assert not missing, f"{module_name}.__all__ names what the module does not have: {missing}"
    assert not undocumented, f"public names in {module_name} without a docstring: {undocumented}"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_module_is_in_the_api_reference(module_name: str) -> None:
    """Documented by its own ``automodule``, or every name it exports is exported (the same object)
    by a module that has one (``bigledger_customers.errors`` through the package)."""
    documented = _automodules()
    module, names = _public(module_name)
    elsewhere = [importlib.import_module(m) for m in documented]
    by_others = all(any(getattr(other, n, None) is getattr(module, n) for other in elsewhere) for n in names)

    assert module_name in documented or by_others, f"no '.. automodule:: {module_name}' with :members: in docs/*.md"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_constants_are_described_in_the_docs(module_name: str) -> None:
    """Values (not classes or functions) carry no docstring of their own, so a page must name them."""
    module, names = _public(module_name)
    text = _docs_text()
    constants = [n for n in names if not (inspect.isclass(getattr(module, n)) or callable(getattr(module, n)))]

    unmentioned = [n for n in constants if n != "__version__" and n not in text]

    assert not unmentioned, f"constants of {module_name} no page mentions: {unmentioned}"


def test_the_package_exports_nothing_private_and_no_name_twice() -> None:
    names = bigledger_customers.__all__

    assert [n for n in names if n.startswith("_") and n != "__version__"] == []
    assert len(set(names)) == len(names)


def test_the_version_is_single_sourced() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert "version" in pyproject["project"]["dynamic"]
    assert "version" not in pyproject["project"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "src/bigledger_customers/__init__.py"
    assert importlib.metadata.version("bigledger-customers") == bigledger_customers.__version__


def test_the_entry_points_a_host_relies_on_are_installed() -> None:
    """The CLI, the pytest plugin (fixtures) and the hypothesis hook (``st.from_type``)."""
    found = {
        (group, ep.name, ep.value)
        for group in ("console_scripts", "pytest11", "hypothesis")
        for ep in importlib.metadata.entry_points(group=group)
        if ep.value.startswith("bigledger_customers")
    }

    assert found == {
        ("console_scripts", "bigledger-customers", "bigledger_customers.cli:main"),
        ("pytest11", "bigledger_customers", "bigledger_customers.testing.plugin"),
        ("hypothesis", "_", "bigledger_customers.testing.strategies:_hypothesis_setup_hook"),
    }


def test_the_changelog_has_an_unreleased_section() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")

    assert "## [Unreleased]" in changelog


def _readme_cli_commands() -> list[list[str]]:
    """The ``bigledger-customers ...`` steps of README command 1, as argument lists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line.strip() for line in readme.splitlines() if line.strip().startswith("python3 -m venv .venv"))
    steps = [step.strip() for step in command.split("&&")]
    cli = [step for step in steps if step.startswith(".venv/bin/bigledger-customers ")]
    assert len(cli) >= 3, steps
    import shlex

    return [shlex.split(step)[1:] for step in cli]


#: The environment of the wheel's processes: without PYTHONPATH, which could put a source tree first.
_WHEEL_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no pip of its own) with the built wheel installed by this environment's pip
    (``--python``, ``--no-deps``, ``--no-index``); its dependencies come from this test run's
    environment through a ``.pth`` file, so no network is needed. The wheel is built by hatchling
    (the ``test`` dependency group) from the source tree, as ``python -m build`` would."""
    base = tmp_path_factory.mktemp("wheel")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(subprocess.check_output([str(python), "-c", code], text=True).strip())
    here = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (purelib / "_host_env.pth").write_text("\n".join(sorted(here)) + "\n", encoding="utf-8")
    dist = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "--target", "wheel", "--directory", str(dist)],
        cwd=ROOT,
        check=True,
        timeout=180,
        capture_output=True,
    )
    wheels = list(dist.glob("bigledger_customers-*.whl"))
    assert len(wheels) == 1, wheels
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q", "--python", str(python)]
    subprocess.run([*pip, "install", "--no-deps", "--no-index", str(wheels[0])], check=True, timeout=120)
    return venv


def test_the_wheel_installs_the_package_not_the_source_tree(wheel_venv: Path) -> None:
    python = wheel_venv / "bin" / "python"
    where = subprocess.check_output(
        [str(python), "-c", "import bigledger_customers; print(bigledger_customers.__file__)"],
        text=True,
        cwd="/",
        env=_WHEEL_ENV,
    ).strip()

    assert Path(where).is_relative_to(wheel_venv), where
    assert (Path(where).parent / "py.typed").exists()


def test_the_wheel_runs_the_readme_cli_command(wheel_venv: Path, tmp_path: Path) -> None:
    cli = wheel_venv / "bin" / "bigledger-customers"
    outputs = [
        subprocess.run(
            [str(cli), *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False, env=_WHEEL_ENV
        )
        for args in _readme_cli_commands()
    ]

    assert all(done.returncode == 0 for done in outputs), [o.stdout + o.stderr for o in outputs]
    assert (tmp_path / "customers.db").exists()
    assert "ABC Manufacturing Sdn Bhd" in outputs[-1].stdout


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_the_wheel_runs_every_example(wheel_venv: Path, tmp_path: Path, script: Path) -> None:
    python = wheel_venv / "bin" / "python"
    done = subprocess.run(
        [str(python), str(script), str(tmp_path / "example.db")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_WHEEL_ENV,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip(), "the example printed nothing"
