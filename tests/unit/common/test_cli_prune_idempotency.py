"""`unionhub prune <service>` deletes expired idempotency records too (issue 8, item 4)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, select

from services import cli
from services.common import kit, migrations
from services.enrolment import tables as et


def test_prune_deletes_expired_idempotency_records_and_keeps_live_ones(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/enrolment.db"
    monkeypatch.setenv("UNIONHUB_HOME", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    migrations.upgrade("enrolment", kit.load_settings("enrolment"))
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for key, age in (("expired", timedelta(hours=25)), ("live", timedelta(hours=1))):
            conn.execute(
                et.idempotency_keys.insert().values(
                    scope="join:o-1",
                    key=key,
                    request_hash="0" * 64,
                    status=201,
                    body="{}",
                    created_at=now - age,
                )
            )

    assert cli.main(["prune", "enrolment"]) == 0

    with engine.connect() as conn:
        assert conn.execute(select(et.idempotency_keys.c.key)).scalars().all() == ["live"]
    engine.dispose()
    assert "deleted 1 idempotency record(s)" in capsys.readouterr().out
