"""Pure domain layer: value types, code lists, rules. No Qt, no SQL."""
