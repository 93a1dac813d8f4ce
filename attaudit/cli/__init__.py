"""attaudit/cli."""
