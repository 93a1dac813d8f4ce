"""common: torch-free helpers every layer uses (hashing, atomic writes, registries, version)."""
