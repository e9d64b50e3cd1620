"""Pure business rules: attrs values and functions, no I/O, no SQL, no clock reads."""
