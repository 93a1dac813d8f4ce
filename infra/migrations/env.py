"""Alembic environment: the URL comes from the Config built in infra.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from infra.db.models import Base
from infra.db.session import get_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = get_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


_ = pool  # NullPool unused: the shared engine pools connections
if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
