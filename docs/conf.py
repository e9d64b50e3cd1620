"""Sphinx configuration: MyST Markdown, furo, autodoc from docstrings, doctested examples.

No intersphinx: the build must work without network access.
"""

from __future__ import annotations

import doctest

import bigledger_customers

project = "bigledger_customers"
author = "BigLedger developers"
copyright = "BigLedger developers"
release = bigledger_customers.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"bigledger_customers {release}"

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "separated"

# Doctests in the docs run with the same flags as pytest's (pyproject's doctest_optionflags).
doctest_default_flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
# Only the {doctest} blocks of these pages: docstring examples are run by pytest --doctest-modules,
# in their own modules' namespaces.
doctest_test_doctest_blocks = ""
