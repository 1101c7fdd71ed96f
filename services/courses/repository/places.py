"""A booking's last writes: its seat or waitlist number from the course row, the booking, its event
and the stored Idempotency-Key answer, then COMMIT.

The course row's lock is the one every booking of the course queues for, so it is held for as
little as can be. On PostgreSQL all of it is one statement, sent with its COMMIT: the lock lasts for
that one round trip alone (docs/benchmarks.md, "Course booking burst"). So the outcome, a seat or a
waitlist number, is prepared before it is known: the caller expects the one the course's row showed
when its checks read it (seats left, or full), and the statement takes it only if the row, locked,
still says so; else it writes nothing and the caller books again. A waitlist place's event and
answer are prepared with ``PLACE`` where the place goes, and the statement puts it in. Elsewhere
(SQLite, where the transaction holds the database's write lock) one statement each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import exc, text

from events.envelope import Event
from services.common import sql
from services.common.db import UnitOfWork
from services.common.idempotency import IdempotentRequest, KeyTaken

from .. import tables as t
from .bookings import next_number, take_seat

# Stands for the waitlist place in what is prepared before the place is known: the largest INTEGER,
# which no waitlist reaches. Found again by its key, which a JSON object holds once.
PLACE = 2_147_483_647
_PLACE_VALUE = re.compile(rf'("position":\s*){PLACE}\b')

# A seat only while one is left, the next number only while none is; either by the one conditional
# UPDATE of the course row, so its lock orders everyone's bookings.
_SEAT = """UPDATE courses SET confirmed = confirmed + 1
    WHERE id = :course_id AND confirmed < capacity
    RETURNING 'confirmed' AS status, NULL::integer AS number, NULL::integer AS place"""
_NUMBER = """UPDATE courses SET waitlist_seq = waitlist_seq + 1
    WHERE id = :course_id AND confirmed >= capacity
    RETURNING 'waitlisted' AS status, waitlist_seq AS number, waitlist_seq - waitlist_left AS place"""
_WRITES = """
), booking AS (
    INSERT INTO bookings (id, course_id, term_id, member_id, child_id, person, status, position,
                          created_at, updated_at)
    SELECT :id, :course_id, :term_id, :member_id, :child_id, :person, status, number,
        :created_at, :updated_at
    FROM taken
), event AS (
    INSERT INTO outbox (event_id, topic, key, type, headers, payload, created_at)
    SELECT :event_id, :topic, :key, :type, :headers,
        :payload_head || coalesce(place::text, '') || :payload_tail, :event_at
    FROM taken
)"""
# The stored answer as IdempotentRequest.remember writes it: an expired record of the key is
# replaced, a live one is not. The member's row lock keeps a live twin from getting this far (it
# reads the first one's answer instead); should one get here all the same, the cast fails the
# statement, so nothing of it commits, as the unique index fails remember's twin.
_ANSWER = """, answer AS (
    INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at)
    SELECT :scope, :answer_key, :request_hash, :status,
        :body_head || coalesce(place::text, '') || :body_tail, :answered_at
    FROM taken
    ON CONFLICT (scope, key) DO UPDATE
    SET request_hash = excluded.request_hash, status = excluded.status, body = excluded.body,
        created_at = excluded.created_at
    WHERE idempotency_keys.created_at < :live_since
    RETURNING id
)
SELECT place,
    CAST(CASE WHEN EXISTS (SELECT FROM answer) THEN '1' ELSE 'idempotency key taken' END AS integer)
        AS stored
FROM taken"""
_KEY_TAKEN = "idempotency key taken"
# (waitlisted, with a stored answer) -> the statement
_STATEMENTS = {
    (waitlisted, stored): text(
        "WITH taken AS (\n    "
        + (_NUMBER if waitlisted else _SEAT)
        + _WRITES
        + (_ANSWER if stored else "\nSELECT place FROM taken")
    )
    for waitlisted in (False, True)
    for stored in (False, True)
}


@dataclass(frozen=True)
class Outcome:
    """The outcome a booking expects, a seat or a waitlist place, with the event it records and the
    answer the member gets (and a retry with the same Idempotency-Key); a place's hold ``PLACE``."""

    waitlisted: bool
    event: Event
    answer: dict


def place_and_commit(
    uow: UnitOfWork, request: IdempotentRequest, booking: dict, outcome: Outcome
) -> dict | None:
    """Take a seat on ``booking["course_id"]``, or the next waitlist number, as ``outcome`` expects;
    write the booking (``booking``: its row without status and position), the event and the answer;
    commit. The answer, its place filled in; None, with nothing written, when the course no longer
    is as expected (a seat was freed, or the last one taken, since the caller read it)."""
    if uow.connection.dialect.name == "postgresql":
        return _in_one_statement(uow, request, booking, outcome)
    conn = uow.connection
    if outcome.waitlisted:
        taken = next_number(conn, booking["course_id"])
        if taken is None:
            return None
        number, place = taken
    elif take_seat(conn, booking["course_id"]):
        number = place = None
    else:
        return None
    status = "waitlisted" if outcome.waitlisted else "confirmed"
    conn.execute(t.bookings.insert(), {**booking, "status": status, "position": number})
    uow.record(outcome.event.with_data(_with_place(outcome.event.data, place)))
    answer = _with_place(outcome.answer, place)
    request.remember(conn, 201, answer)
    uow.commit()
    return answer


def _in_one_statement(
    uow: UnitOfWork, request: IdempotentRequest, booking: dict, outcome: Outcome
) -> dict | None:
    event = uow.outbox_row(outcome.event)
    payload_head, payload_tail = _around_place(event["payload"], outcome.waitlisted)
    values = {
        **booking,
        **{name: event[name] for name in ("event_id", "topic", "key", "type", "headers")},
        "event_at": event["created_at"],
        "payload_head": payload_head,
        "payload_tail": payload_tail,
    }
    stored = request.key is not None
    if stored:
        record = request.record(201, outcome.answer)
        body_head, body_tail = _around_place(record["body"], outcome.waitlisted)
        values.update(
            scope=record["scope"],
            answer_key=record["key"],
            request_hash=record["request_hash"],
            status=record["status"],
            body_head=body_head,
            body_tail=body_tail,
            answered_at=record["created_at"],
            live_since=record["live_since"],
        )
    try:
        placed = sql.fetch(uow.connection, _STATEMENTS[outcome.waitlisted, stored], values, commit=True)
    except exc.DataError as error:
        if _KEY_TAKEN in str(error.orig):
            raise KeyTaken() from error
        raise
    if not placed:
        return None
    return _with_place(outcome.answer, placed[0].place)


def _around_place(json_text: str, waitlisted: bool) -> tuple[str, str]:
    """``json_text`` before and after the value of its "position", which is ``PLACE``: a waitlist
    place's event or answer; a seat's has none (all of it, and nothing)."""
    if not waitlisted:
        return json_text, ""
    found = _PLACE_VALUE.search(json_text)
    return json_text[: found.end(1)], json_text[found.end() :]


def _with_place(values: dict, place: int | None) -> dict:
    return values if place is None else {**values, "position": place}
