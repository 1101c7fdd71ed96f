"""The unit of work on both databases: read-only transactions refuse writes and, on SQLite, take no
write lock; SQLite's writers from several processes queue on the lock file and all commit."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, exc, func, select

from services.common.db import Database
from tests.support import fresh_postgres_database


def _database(url: str) -> Database:
    metadata = MetaData()
    Table(
        "notes",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("text", String(40), nullable=False),
    )
    db = Database(url, metadata, source="/unionhub/test")
    db.create_all()
    return db


@pytest.fixture
def sqlite_db(tmp_path):
    db = _database(f"sqlite:///{tmp_path}/uow.db")
    yield db
    db.engine.dispose()


@pytest.fixture
def postgres_db():
    with fresh_postgres_database("uow") as url:
        db = _database(url)
        yield db
        db.engine.dispose()


def _notes(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(db.metadata.tables["notes"])).scalar_one()


def _write(db: Database, text: str) -> None:
    with db.unit_of_work() as uow:
        uow.connection.execute(db.metadata.tables["notes"].insert().values(text=text))
        uow.commit()


@pytest.mark.parametrize("which", ["sqlite_db", pytest.param("postgres_db", marks=pytest.mark.integration)])
def test_a_read_only_unit_of_work_reads_and_refuses_writes_and_the_next_entry_may_write(request, which):
    db = request.getfixturevalue(which)
    _write(db, "before")
    uow = db.unit_of_work()

    with uow.read_only():
        assert uow.connection.execute(select(db.metadata.tables["notes"].c.text)).scalars().all() == [
            "before"
        ]
        with pytest.raises(exc.DBAPIError if which == "sqlite_db" else exc.InvalidRequestError):
            uow.connection.execute(db.metadata.tables["notes"].insert().values(text="sneaked"))

    with uow:  # the same unit of work, entered again, writes as usual
        uow.connection.execute(db.metadata.tables["notes"].insert().values(text="after"))
        uow.commit()
    assert _notes(db) == 2


def test_on_sqlite_a_reader_is_not_held_up_by_a_writer_holding_the_lock(sqlite_db):
    writing, release = threading.Event(), threading.Event()

    def long_writer():
        with sqlite_db.unit_of_work() as uow:
            uow.connection.execute(sqlite_db.metadata.tables["notes"].insert().values(text="slow"))
            writing.set()
            release.wait(10)
            uow.commit()

    writer = threading.Thread(target=long_writer)
    writer.start()
    try:
        assert writing.wait(10)
        read = []
        reader = threading.Thread(
            target=lambda: read.append(_read_only_count(sqlite_db)), name="reader", daemon=True
        )
        reader.start()
        reader.join(5)
        assert read == [0]  # answered while the writer still held the lock, from its snapshot
    finally:
        release.set()
        writer.join(10)
    assert _notes(sqlite_db) == 1


def _read_only_count(db: Database) -> int:
    with db.unit_of_work().read_only() as uow:
        notes = db.metadata.tables["notes"]
        return uow.connection.execute(select(func.count()).select_from(notes)).scalar_one()


def _writer_process(url: str, name: str, count: int) -> None:
    db = _database(url)
    for i in range(count):
        _write(db, f"{name}-{i}")
    db.engine.dispose()


def test_on_sqlite_writers_of_several_processes_queue_and_all_commit(tmp_path):
    url = f"sqlite:///{tmp_path}/queue.db"
    _database(url).engine.dispose()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_writer_process, args=(url, f"p{n}", 50)) for n in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)

    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    db = _database(url)
    assert _notes(db) == 200
    db.engine.dispose()
