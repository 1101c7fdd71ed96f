"""Rotating the PII key: rows written under the old key move to the new one and still decrypt."""

from datetime import UTC, datetime

from sqlalchemy import select

from services.common.db import Database
from services.enrolment import membership, pii, service, tables
from services.enrolment.pii import KeyRing

OLD = KeyRing.generate_key()
NEW = KeyRing.generate_key()


def add_member(conn, member_id: str, ring: KeyRing, unit_id: str) -> None:
    now = datetime.now(UTC)
    aad = member_id.encode()
    conn.execute(
        tables.members.insert().values(
            id=member_id, unit_id=unit_id, card_no=f"GH{member_id}", status="active", name="测试",
            mobile_enc=pii.encrypt(ring, "13800138000", associated_data=aad),
            id_number_enc=pii.encrypt(ring, "52010219900307001X", associated_data=aad),
            employer="美团", occupation="外卖骑手", consent_version="v1", consented_at=now,
            joined_at=now, updated_at=now,
        )
    )  # fmt: skip


def add_open_dispute(conn, dispute_id: str, member_id: str, ring: KeyRing) -> None:
    """An open dispute over ``member_id`` whose claimant's mobile is encrypted under ``ring``."""
    conn.execute(
        tables.disputes.insert().values(
            id=dispute_id, member_id=member_id, status="open", claimant_openid="o-claimant",
            claimant_name="赵六",
            claimant_mobile_enc=pii.encrypt(ring, "13955556789", associated_data=dispute_id.encode()),
            claimant_mobile_masked="139****6789", opened_at=datetime.now(UTC),
        )
    )  # fmt: skip


def test_reencryption_moves_every_member_to_the_current_key_in_batches(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/e.db", tables.metadata)
    database.create_all()
    old_ring = KeyRing.from_string(f"k1:{OLD}")
    with database.unit_of_work() as uow:
        root = service.ensure_root(uow.connection, "总工会")
        for i in range(5):
            add_member(uow.connection, f"m{i}", old_ring, root.id)
        uow.commit()

    rotated = KeyRing.from_string(f"k2:{NEW},k1:{OLD}")
    keys = service.PiiKeys(rotated, b"h" * 32)
    changed = []
    while True:
        changed.append(membership.reencrypt_personal_data(database.unit_of_work(), keys, batch=2))
        if changed[-1] == 0:
            break

    assert changed == [2, 2, 1, 0]
    new_only = KeyRing.from_string(f"k2:{NEW}")
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(tables.members.c.id, tables.members.c.id_number_enc, tables.members.c.mobile_enc)
        ).all()
    for row in rows:
        assert row.id_number_enc.startswith("k2:")
        assert (
            pii.decrypt(new_only, row.id_number_enc, associated_data=row.id.encode()) == "52010219900307001X"
        )
        assert pii.decrypt(new_only, row.mobile_enc, associated_data=row.id.encode()) == "13800138000"


def test_reencryption_moves_an_open_disputes_claimant_mobile_too(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/e.db", tables.metadata)
    database.create_all()
    old_ring = KeyRing.from_string(f"k1:{OLD}")
    with database.unit_of_work() as uow:
        root = service.ensure_root(uow.connection, "总工会")
        add_member(uow.connection, "m0", old_ring, root.id)
        add_open_dispute(uow.connection, "d-1", "m0", old_ring)
        uow.commit()

    keys = service.PiiKeys(KeyRing.from_string(f"k2:{NEW},k1:{OLD}"), b"h" * 32)
    changed = [membership.reencrypt_personal_data(database.unit_of_work(), keys, batch=1) for _ in range(3)]

    assert changed == [1, 1, 0]  # the claimant, then the member, in batches of one
    with database.engine.connect() as conn:
        enc = conn.execute(select(tables.disputes.c.claimant_mobile_enc)).scalar_one()
    assert enc.startswith("k2:")
    assert pii.decrypt(KeyRing.from_string(f"k2:{NEW}"), enc, associated_data=b"d-1") == "13955556789"
