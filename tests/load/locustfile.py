"""The mixed load of tests/load/bench_mixed.py as locust users, each part twice: ours through the
gateway, and its twin on the bare app (tests/load/bare_app.py), direct, with the same weight, waits
and pools, in the same run, so every endpoint has its bare baseline from the same minute.

    UNIONHUB_MIXED_DATA=prepared.json locust -f tests/load/locustfile.py --headless -u N -r R -t 60s

Run by bench_mixed.py, which starts what this measures and prepares the data beforehand (member and
till tokens, card codes, bookings, join identities, finder queries), so locust measures the services,
not the set-up. The parts of the mix:

* ``Member``: the member pages in between: the fresh term's courses, their own bookings, offers and
  rest stations near them, their profile, their card's rotating code (members who joined for real);
* ``BookingBurst``: the term opening: every burst user waits for the moment booking opens, then
  books as fast as answers come, one (member, course) each time with its own Idempotency-Key;
* ``Till``: the benefit-week rush: tills redeem the prepared fresh card codes with their own
  Idempotency-Keys, each at its own store, until the offer's budget is spent and beyond;
* ``Courier``: the station finder around the prefecture seats;
* ``Worker``: the enrolment drive at a logistics park: scan the poster, log in, get the SMS code (read
  from the identity fake's outbox), join (二要素 checked by the fake), see their profile.

Every request is named by the endpoint of ours it measures; its twin's by ``bare `` and that name.
At the end every request's (name, start, ms, status, ok) and the answers the checks need go to the
file the data names. Not a test (pytest collects test_*.py only).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from pathlib import Path

from locust import FastHttpUser, between, constant, events, task
from locust.exception import StopUser

_DATA_FILE = os.environ.get("UNIONHUB_MIXED_DATA")
if not _DATA_FILE:
    raise SystemExit("run by tests/load/bench_mixed.py: UNIONHUB_MIXED_DATA names the prepared data")
DATA = json.loads(Path(_DATA_FILE).read_text())

# The endpoint of ours (the name in the figures) → what its bare twin does instead, at the least.
ENDPOINTS = {
    "POST /api/v1/courses/{id}/bookings": "POST /book (one conditional UPDATE)",
    "GET /api/v1/courses?term_id=": "GET /list (one SELECT)",
    "GET /api/v1/bookings/me": "GET /row (one SELECT by key)",
    "GET /api/v1/offers?lat=&lng=": "GET /geo (one GEOSEARCH)",
    "GET /api/v1/stations?lat=&lng=&amenity=&open_now=": "GET /geo (one GEOSEARCH)",
    "GET /api/v1/members/me": "GET /row (one SELECT by key)",
    "GET /api/v1/members/me/card/token": "GET /card (a SELECT, an Ed25519 signature)",
    "POST /api/v1/redemptions": "POST /redeem (SET NX, one INSERT)",
    "GET /api/v1/join/{code}": "GET /incr (one INCR)",
    "POST /api/v1/auth/wechat": "POST /token (a signed JWT)",
    "POST /api/v1/join/sms-code": "GET /incr (one INCR)",
    "POST /api/v1/join": "POST /join (two INSERTs, a signed JWT)",
}
SMS_OUTBOX = "GET /fake/sms/messages"  # the identity fake, not ours: no twin
# A refusal the rush is expected to meet once the offer's budget is spent: an answer, not a failure.
BUDGET_SPENT = {"offer.budget_exhausted", "merchant.budget_exhausted"}

RECORDS: list[list] = []  # [name, start (epoch s), ms, status, ok]
ANSWERS: dict[str, list] = {"bookings": [], "redemptions": [], "joins": []}


@events.request.add_listener
def _record(name, start_time, response_time, response, exception, **_):
    status = getattr(response, "status_code", None) or 0
    RECORDS.append([name, start_time, round(response_time, 3), status, exception is None])


@events.test_stop.add_listener
def _write(**_):
    Path(DATA["out"]).write_text(
        json.dumps({"endpoints": ENDPOINTS, "requests": RECORDS, "answers": ANSWERS})
    )


class Pool:
    """Prepared items handed out once each, in order (gevent: one greenlet runs at a time)."""

    def __init__(self, items):
        self.items, self.next = items, 0

    def take(self):
        if self.next >= len(self.items):
            raise StopUser()  # this part of the mix is done; the others go on
        self.next += 1
        return self.next - 1, self.items[self.next - 1]


def _pools(bare: bool) -> dict:
    return {
        "bookings": Pool(DATA["bookings"]),
        "redemptions": [Pool(store["redemptions"]) for store in DATA["stores"]],
        "workers": Pool(DATA["workers"]),
        "tills": [(n, till) for n, store in enumerate(DATA["stores"]) for till in store["tills"]],
        "members": DATA["members"],
        "next_till": 0,
        "next_member": 0,
        "bare": bare,
    }


OURS, BARE = _pools(False), _pools(True)


class Part(FastHttpUser):
    """One part of the mix, ours or its bare twin: ``send`` names a request by our endpoint and sends
    whichever of the two requests the side calls for."""

    abstract = True
    host = DATA["gateway"]
    side = OURS

    @property
    def bare(self) -> bool:
        return self.side["bare"]

    def send(self, endpoint: str, ours: tuple, bare: tuple, ok=(200,), answer=None):
        """``ours``/``bare``: (method, path, json body or None, headers or None). Ours succeeds with a
        status in ``ok``, the bare with any 2xx; ``answer(status, body)`` sees the answer and may say
        it is an expected refusal by returning True."""
        method, path, body, headers = bare if self.bare else ours
        name = f"bare {endpoint}" if self.bare else endpoint
        with self.client.request(
            method, path, name=name, json=body, headers=headers, catch_response=True
        ) as response:
            status, text = response.status_code or 0, response.text or ""
            accepted = answer(status, text) if answer else False
            if (200 <= status < 300 if self.bare else status in ok) or accepted:
                response.success()
            else:
                response.failure(f"{status}: {text[:160]}")
            return response

    def pause(self, low: float, high: float) -> None:
        time.sleep(random.uniform(low, high))  # gevent's sleep: locust patches time


class Member(Part):
    """The member pages in between, by members who joined for real before the run."""

    weight = 8
    wait_time = between(0.5, 2.5)

    def on_start(self):
        members, n = self.side["members"], self.side["next_member"]
        self.side["next_member"] = n + 1
        self.auth = {"Authorization": members[n % len(members)][0]}
        self.course = n % len(DATA["courses"]) + 1  # which bare row stands for this member's own

    def near(self) -> tuple[float, float]:
        return tuple(random.choice(DATA["near"]))

    @task(3)
    def courses(self):
        self.send(
            "GET /api/v1/courses?term_id=",
            ("GET", f"/api/v1/courses?term_id={DATA['term_id']}", None, self.auth),
            ("GET", "/list", None, None),
        )

    @task(2)
    def bookings(self):
        self.send(
            "GET /api/v1/bookings/me",
            ("GET", "/api/v1/bookings/me", None, self.auth),
            ("GET", f"/row?course={self.course}", None, None),
        )

    @task(3)
    def offers(self):
        lat, lng = self.near()
        self.send(
            "GET /api/v1/offers?lat=&lng=",
            ("GET", f"/api/v1/offers?lat={lat}&lng={lng}", None, self.auth),
            ("GET", f"/geo?lat={lat}&lng={lng}&radius_m=5000", None, None),
        )

    @task(2)
    def finder(self):
        n = random.randrange(len(DATA["finder"]))
        self.send(
            "GET /api/v1/stations?lat=&lng=&amenity=&open_now=",
            ("GET", DATA["finder"][n], None, self.auth),
            ("GET", DATA["finder_bare"][n], None, None),
        )

    @task(1)
    def me(self):
        self.send(
            "GET /api/v1/members/me",
            ("GET", "/api/v1/members/me", None, self.auth),
            ("GET", f"/row?course={self.course}", None, None),
        )

    @task(2)
    def card(self):
        self.send(
            "GET /api/v1/members/me/card/token",
            ("GET", "/api/v1/members/me/card/token", None, self.auth),
            ("GET", f"/card?course={self.course}", None, None),
        )


class BookingBurst(Part):
    """The term opening: wait for the moment, then book without pause until the bookings run out."""

    weight = 3
    wait_time = constant(0)

    def on_start(self):
        time.sleep(max(0.0, DATA["opens_at"] - time.time()))

    @task
    def book(self):
        n, (auth, course) = self.side["bookings"].take()

        def told(status: int, body: str) -> bool:
            if not self.bare:
                ANSWERS["bookings"].append([n, status, body])
            return False

        self.send(
            "POST /api/v1/courses/{id}/bookings",
            (
                "POST", f"/api/v1/courses/{DATA['courses'][course]}/bookings", {},
                {"Authorization": auth, "Idempotency-Key": uuid.uuid4().hex},
            ),
            ("POST", f"/book?course={course + 1}", {}, None),
            ok=(201,),
            answer=told,
        )  # fmt: skip


class Till(Part):
    """The benefit-week rush: each till scans the next prepared card code of its store's queue."""

    weight = 3
    wait_time = between(0.1, 0.8)

    def on_start(self):
        tills, n = self.side["tills"], self.side["next_till"]
        self.side["next_till"] = n + 1
        self.store, self.auth = tills[n % len(tills)]
        self.store_id = DATA["stores"][self.store]["store_id"]

    @task
    def redeem(self):
        n, (code, amount) = self.side["redemptions"][self.store].take()

        def told(status: int, body: str) -> bool:
            if self.bare:
                return False
            ANSWERS["redemptions"].append([self.store, n, status, body])
            return status == 409 and json.loads(body or "{}").get("code") in BUDGET_SPENT

        self.send(
            "POST /api/v1/redemptions",
            (
                "POST", "/api/v1/redemptions",
                {"card_token": code, "store_id": self.store_id, "amount_fen": amount},
                {"Authorization": self.auth, "Idempotency-Key": uuid.uuid4().hex},
            ),
            (
                "POST", "/redeem",
                {"nonce": uuid.uuid4().hex, "store_id": self.store_id, "amount_fen": amount}, None,
            ),
            ok=(201,),
            answer=told,
        )  # fmt: skip


class Courier(Part):
    """Couriers asking the finder where to rest, where they ride."""

    weight = 4
    wait_time = between(0.5, 2.0)

    @task
    def finder(self):
        n = random.randrange(len(DATA["finder"]))
        self.send(
            "GET /api/v1/stations?lat=&lng=&amenity=&open_now=",
            ("GET", DATA["finder"][n], None, None),
            ("GET", DATA["finder_bare"][n], None, None),
        )


class Worker(Part):
    """The enrolment drive: a new worker each time, from the poster to their profile."""

    weight = 2
    wait_time = between(0.5, 2.0)

    @task
    def join(self):
        n, (mobile, id_number) = self.side["workers"].take()
        code = DATA["campaign_code"]
        self.send(
            "GET /api/v1/join/{code}",
            ("GET", f"/api/v1/join/{code}", None, None),
            ("GET", "/incr", None, None),
        )
        self.pause(0.1, 0.5)
        login = self.send(
            "POST /api/v1/auth/wechat",
            ("POST", "/api/v1/auth/wechat", {"code": f"mixed-{uuid.uuid4().hex}"}, None),
            ("POST", "/token", {}, None),
        )
        if login.status_code != 200:
            return
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        texted = self.send(
            "POST /api/v1/join/sms-code",
            ("POST", "/api/v1/join/sms-code", {"mobile": mobile}, auth),
            ("GET", "/incr", None, None),
            ok=(202,),
        )
        if texted.status_code not in (200, 202):
            return
        body = {
            "campaign_code": code, "name": "压测", "mobile": mobile, "id_number": id_number,
            "employer": "压测物流园", "occupation": "分拣员", "consent": True,
        }  # fmt: skip
        if not self.bare:
            outbox = self.client.get(f"/fake/sms/messages?mobile={mobile}", name=SMS_OUTBOX)
            body["sms_code"] = outbox.json()[0]["code"]
        self.pause(0.2, 1.0)  # typing the code in

        def told(status: int, text: str) -> bool:
            if not self.bare:
                ANSWERS["joins"].append([n, status, text])
            return False

        joined = self.send(
            "POST /api/v1/join",
            ("POST", "/api/v1/join", body, {**auth, "Idempotency-Key": uuid.uuid4().hex}),
            ("POST", "/join", body, None),
            ok=(201,),
            answer=told,
        )
        if joined.status_code == 201:
            self.send(
                "GET /api/v1/members/me",
                (
                    "GET",
                    "/api/v1/members/me",
                    None,
                    {"Authorization": f"Bearer {joined.json()['access_token']}"},
                ),
                ("GET", "/row", None, None),
            )


def _twin(part: type[Part]) -> type[Part]:
    """The same part on the bare app: its own host and pools, the same weight and waits."""
    return type(part)(
        f"Bare{part.__name__}", (part,), {"host": DATA["bare"], "side": BARE, "__doc__": part.__doc__}
    )


BareMember, BareBookingBurst, BareTill = _twin(Member), _twin(BookingBurst), _twin(Till)
BareCourier, BareWorker = _twin(Courier), _twin(Worker)
