"""A host application's test suite, written only against the documented test kit (docs/testing.md)."""
