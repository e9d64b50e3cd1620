"""Shared fixtures: database servers (tests/servers.py)."""

pytest_plugins = ["tests.servers"]
