"""Shared fixtures: database servers (tests/servers.py).

Rich sizes its tables to the terminal; a worker process without one (pytest-xdist, CI pipes) would
otherwise get a narrower console than a developer's shell and truncate the cells the CLI tests read.
"""

import os

os.environ.setdefault("COLUMNS", "200")

pytest_plugins = ["tests.servers"]
