"""Each service's schema, brought up to date by its migrations: ``unionhub db upgrade <service>``.

Every service keeps one Alembic history in ``services/<name>/migrations/versions/``; its ``env.py``
only calls :func:`run_env`. There is no alembic.ini: the configuration is built here from the
registry and the service's settings, so the app, the ``unionhub db`` command and the tests all
migrate the same way.

An upgrade runs in one transaction holding the schema lock, so web workers, replicas and a deploy
job upgrading at once queue, and the later ones find the schema at head and do nothing. A database
that ``create_all`` made before there were migrations is adopted: stamped at the service's first
revision (the baseline, which is exactly what ``create_all`` made) and upgraded from there.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, exc, inspect
from sqlalchemy.engine import make_url

from services.registry import SERVICES

from .config import Settings
from .db import SCHEMA_LOCK_KEY, Database, drop_database, ensure_database
from .sql import xact_lock

log = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version"

# One set for upgrades, `db check` and `db revision`: what check reports is what revision writes.
# Batch operations on every dialect, because each revision must also run on the SQLite quick start;
# on PostgreSQL a batch is just the plain ALTER statements.
CONTEXT_OPTIONS = {"compare_type": True, "compare_server_default": True, "render_as_batch": True}


def script_location(name: str) -> Path:
    package = importlib.import_module(SERVICES[name].module)
    return Path(package.__file__).parent / "migrations"


def config(
    name: str,
    database: Database | None = None,
    connection: Connection | None = None,
    settings: Settings | None = None,
) -> Config:
    """Alembic's configuration for service ``name``; ``run_env`` finds the rest in its attributes."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location(name)))
    # Dated names keep versions/ listed in the order revisions were written.
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if importlib.util.find_spec("ruff") is not None:  # a developer's checkout: lint what autogenerate wrote
        cfg.set_section_option("post_write_hooks", "hooks", "ruff_format, ruff_fix")
        cfg.set_section_option("post_write_hooks", "ruff_fix.type", "module")
        cfg.set_section_option("post_write_hooks", "ruff_fix.module", "ruff")
        cfg.set_section_option("post_write_hooks", "ruff_fix.options", "check --fix REVISION_SCRIPT_FILENAME")
        cfg.set_section_option("post_write_hooks", "ruff_format.type", "module")
        cfg.set_section_option("post_write_hooks", "ruff_format.module", "ruff")
        cfg.set_section_option("post_write_hooks", "ruff_format.options", "format REVISION_SCRIPT_FILENAME")
    cfg.attributes.update(service=name, database=database, connection=connection, settings=settings)
    return cfg


def scripts(name: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(config(name))


def baseline(name: str) -> str:
    """The first revision of the service's history: the schema as ``create_all`` made it."""
    return scripts(name).get_base()


def heads(name: str) -> tuple[str, ...]:
    return tuple(scripts(name).get_heads())


def run_env() -> None:
    """The whole of each service's ``migrations/env.py``."""
    from alembic import context

    from . import kit

    cfg = context.config
    name = cfg.attributes["service"]
    database: Database | None = cfg.attributes.get("database")
    connection: Connection | None = cfg.attributes.get("connection")
    own = database is None
    if own:
        database = kit.database(name, cfg.attributes.get("settings") or kit.load_settings(name))
    try:
        if context.is_offline_mode():
            context.configure(
                url=database.engine.url,
                target_metadata=database.metadata,
                literal_binds=True,
                dialect_opts={"paramstyle": "named"},
                **CONTEXT_OPTIONS,
            )
            with context.begin_transaction():
                context.run_migrations()
        elif connection is not None:
            _run_migrations(context, connection, database)
        else:
            with schema_transaction(database) as connection:
                _run_migrations(context, connection, database)
    finally:
        if own:
            database.engine.dispose()


def _run_migrations(context, connection: Connection, database: Database) -> None:
    context.configure(connection=connection, target_metadata=database.metadata, **CONTEXT_OPTIONS)
    # Inside schema_transaction this joins its transaction, so the lock is held until the commit.
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def schema_transaction(database: Database) -> Iterator[Connection]:
    """A connection in a transaction that holds the schema lock, committed when the block ends."""
    ensure_database(database.engine)
    with database.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # A batch operation rebuilds a table (copy, drop, rename); with foreign keys enforced,
            # dropping a table others refer to would fail or cascade. SQLite ignores this pragma
            # inside a transaction, so it is set on the driver's connection before BEGIN.
            _sqlite_foreign_keys(conn, on=False)
        try:
            with conn.begin():
                xact_lock(conn, SCHEMA_LOCK_KEY)
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:10]}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(conn, on=True)  # the connection goes back to the pool


def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    conn.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade(name: str, settings: Settings | None = None) -> None:
    """Bring service ``name``'s database (from ``settings``, else the environment) to the latest schema."""
    from . import kit

    settings = settings or kit.load_settings(name)
    database = kit.database(name, settings)
    try:
        with schema_transaction(database) as conn:
            cfg = config(name, database, conn)
            if _made_by_create_all(conn, database):
                base = baseline(name)
                log.info("%s: adopting a schema made before migrations, at baseline %s", name, base)
                command.stamp(cfg, base)
            command.upgrade(cfg, "head")
    finally:
        database.engine.dispose()


def _made_by_create_all(conn: Connection, database: Database) -> bool:
    tables = set(inspect(conn).get_table_names())
    return VERSION_TABLE not in tables and bool(tables & set(database.metadata.tables))


def current(name: str, settings: Settings | None = None) -> tuple[str, ...]:
    """The revisions the service's database is at; empty when it has never been migrated."""
    from . import kit

    database = kit.database(name, settings or kit.load_settings(name))
    try:
        with database.engine.connect() as conn:
            return tuple(MigrationContext.configure(conn).get_current_heads())
    except exc.OperationalError as error:
        if "does not exist" in str(error):  # a PostgreSQL database its first upgrade will create
            return ()
        raise
    finally:
        database.engine.dispose()


def compare(name: str, settings: Settings | None = None) -> list:
    """What autogenerate finds between the service's tables and its database as it is now."""
    from . import kit

    database = kit.database(name, settings or kit.load_settings(name))
    try:
        with database.engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts=CONTEXT_OPTIONS), database.metadata)
    finally:
        database.engine.dispose()


def differences(name: str, settings: Settings | None = None) -> list:
    """What autogenerate finds between the service's tables and a new database its migrations
    built from empty: nothing, unless tables.py changed without a revision that makes the change.

    The new database is of the kind ``settings`` name (SQLite or PostgreSQL) and is removed after.
    """
    from . import kit

    with scratch_settings(settings or kit.load_settings(name)) as scratch:
        upgrade(name, scratch)
        return compare(name, scratch)


def revision(name: str, message: str, settings: Settings | None = None) -> Path:
    """Write a new revision with what tables.py has and the migrations do not make yet.

    Autogenerate compares against a new database upgraded from empty, so the developer's own
    database may be in any state. The revision still needs reading: autogenerate misses renames
    (it sees a drop and an add) and data changes.
    """
    from . import kit

    with scratch_settings(settings or kit.load_settings(name)) as scratch:
        upgrade(name, scratch)
        database = kit.database(name, scratch)
        try:
            with database.engine.connect() as conn:
                script = command.revision(config(name, database, conn), message=message, autogenerate=True)
        finally:
            database.engine.dispose()
    return Path(script.path)


@contextmanager
def scratch_settings(settings: Settings) -> Iterator[Settings]:
    """``settings`` pointed at a new, empty database of the same kind, removed afterwards.

    On PostgreSQL it is a database of its own on the same server (creating it needs CREATEDB,
    as a first start does).
    """
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="unionhub-migrations-") as tmp:
            yield replace(settings, database_url=f"sqlite:///{tmp}/scratch.db")
        return
    scratch = url.set(database=f"{url.database}_scratch_{uuid.uuid4().hex[:8]}")
    try:
        yield replace(settings, database_url=scratch.render_as_string(hide_password=False))
    finally:
        drop_database(url.set(database="postgres"), scratch.database)
