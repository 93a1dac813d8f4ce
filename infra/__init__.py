"""infra: the torch-free platform shared by the API, the workers and the CLI.

Settings, the database (tables, sessions, Alembic migrations) and the artifact store.
"""
