"""Adapters behind the ports: ``memory`` (the reference) and ``sql`` (SQLite, PostgreSQL, MariaDB)."""
