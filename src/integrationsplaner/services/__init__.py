"""Use cases: the only way UI, CLI, exchange and reports read and write data."""
