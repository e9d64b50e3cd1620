"""Use cases: each command loads through one unit of work, applies domain rules, saves, commits."""
