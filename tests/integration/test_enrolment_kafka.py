"""A join reaches the real Kafka: exactly one `unionhub.member.joined.v2` CloudEvent on `members`,
carrying the membership and nothing the person told us.

The enrolment app runs in-process on a fresh SQLite file; the real outbox relay
(services.common.worker.build_relay) publishes its outbox to the broker started by
deploy/local/infra.sh; kafka-python reads the topic from the end offsets taken before the join.
Other producers (the running system, other tests) may write to `members` at the same time, so
records are told apart by their key, the new member's id.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from prometheus_client import REGISTRY

from schemas.events import members as member_events
from services.common.worker import build_relay
from tests.api.enrolment.conftest import EnrolmentApi, enrolment_settings
from tests.support import KAFKA_BOOTSTRAP, build_app, dispose_app, identity_fake, topic_tail

identity_url = identity_fake(scope="module")  # the join's SMS code and 二要素 check

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when Kafka/PostgreSQL are absent

TOPIC = "members"


@pytest.fixture
def app(tmp_path, monkeypatch, wechat_url, identity_url, clean_redis):
    monkeypatch.setenv("UNIONHUB_HOME", str(tmp_path))
    settings = enrolment_settings(tmp_path, wechat_url, identity_url, kafka_bootstrap=KAFKA_BOOTSTRAP)
    app = build_app("enrolment", settings)
    yield app
    dispose_app(app)


@pytest.fixture
def members_topic():
    with topic_tail(TOPIC) as consumer:
        yield consumer


def _records_keyed(consumer, key: bytes, *, timeout: float, settle: float) -> list:
    """Records with this key until `timeout`; after the first, keep reading `settle` s for repeats."""
    found, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=250).values():
            found += [r for r in batch if r.key == key]
        if found:
            deadline = min(deadline, time.monotonic() + settle)
    return found


def published_by_enrolment() -> float:
    return REGISTRY.get_sample_value("unionhub_outbox_published_total", {"service": "enrolment"}) or 0.0


def test_a_join_publishes_exactly_one_member_joined_cloudevent_on_kafka(app, members_topic):
    api = EnrolmentApi(app.test_client(), app)
    fed = api.admin()
    branch = api.unit(fed, "贵阳市货拉拉分会", parent_id=api.root_id())
    campaign = api.campaign(fed, branch["id"])
    worker = api.member(campaign["code"], mobile="13700009999", employer="货拉拉", occupation="货车司机")
    id_number = worker.body["id_number"]

    database = app.extensions["unionhub"].db
    relay = build_relay(app.extensions["unionhub"].settings, database, idle_sleep=0.05)
    published_before = published_by_enrolment()
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), name="test-relay", daemon=True)
    thread.start()
    try:
        records = _records_keyed(members_topic, worker.member_id.encode(), timeout=30, settle=3)
    finally:
        stop.set()
        thread.join(timeout=15)

    assert published_by_enrolment() == published_before + 1
    assert len(records) == 1, [r.headers for r in records]
    (record,) = records
    headers = {name: value.decode() for name, value in record.headers}
    assert headers["ce_type"] == member_events.JOINED
    assert headers["ce_source"] == "/unionhub/enrolment"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_subject"] == worker.member_id
    (outbox_row,) = api.outbox()
    assert headers["ce_id"] == outbox_row.event_id and outbox_row.sent_at is not None
    assert headers["traceparent"].startswith("00-")
    payload = json.loads(record.value)
    assert payload["member_id"] == worker.member_id
    assert payload["card_no"] == worker.card_no
    assert payload["branch_id"] == branch["id"] and payload["status"] == "active"
    assert "id_number" not in payload and "mobile" not in payload
    assert set(payload) == {"occurred_at", "member_id", "branch_id", "branch_path", "card_no", "status"}
    raw = record.value.decode()
    for personal in (id_number, "13700009999", "货拉拉", "货车司机", worker.body["name"]):
        assert personal not in raw
