"""The sustained mixed load of a fault run, through the stack's gateway, every request's outcome recorded.

Client threads, each with a random stream of its own drawn from the run's seed:

* bookers: members book the run's capacity-limited courses, (member, course) pairs in a shuffled
  order, each booking with an Idempotency-Key of its own;
* tills: a member shows a fresh card code (asked of enrolment), and the till redeems a bill of
  ¥50-300 against the run's budget-limited offer, with an Idempotency-Key of its own;
* a finder: the public station finder, one read after another;
* a joiner: a worker logs in with WeChat (from a loopback address of its own, as phones come from
  many addresses), has an SMS code sent, and joins.

A refused request is tried again the way a real client does: after a 503 (the service's, or the
gateway's when the web process does not answer), a 429, a 409 ``idempotency_in_progress``, or no
answer at all, the same request with the same Idempotency-Key, after the Retry-After it was given
(capped at 1 s, so that recovery shows to within a second). Every other answer is final. An
operation without a final answer when the load stops is unresolved; ``resolve`` asks again, as a
till does once the system is back. Every loop is bounded by the stop event or a deadline.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from tests.load.harness import session_from
from tests.support import PROBLEM, bearer, unique_resident_id

TIMEOUT = 40  # seconds: past the gateway's 30 s proxy timeout, so a hung service shows as its 504
MAX_PAUSE = 1.0  # the longest wait between tries, whatever Retry-After says
PATIENCE = 30.0  # how long an operation is retried during the load before it is left unresolved
BOOKERS, TILLS = 2, 2
STATION_AT = {"lat": 26.57, "lng": 106.71}  # journey.set_up's station
TRANSIENT = frozenset({0, 429, 502, 503, 504})


@dataclass(frozen=True)
class Attempt:
    endpoint: str
    at: float  # seconds since the load began
    status: int  # 0: no HTTP answer (connection refused or reset, timed out)
    code: str | None  # the problem's code, or the client error's name
    origin: str  # "service"; "gateway" when nginx answered itself (the web process did not); "client"
    retry_after: bool

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def clean(self) -> bool:
        """A refusal a client can act on: a 4xx, or a 503 that says when to come back and why."""
        if self.status == 0:
            return False
        if self.status < 500:
            return True
        return self.status == 503 and self.retry_after and bool(self.code)

    def label(self) -> str:
        text = f"{self.status} {self.code or ''}".strip()
        return f"{text} (gateway)" if self.origin == "gateway" else text


@dataclass
class Operation:
    """One booking, sale or join: the request that decides it, tried until it has a final answer."""

    kind: str
    detail: dict
    send: Callable[[requests.Session], requests.Response | None]
    status: int | None = None  # the final answer's status; None while unresolved
    body: dict = field(default_factory=dict)

    def settle(self, session: requests.Session, patience: float, stop: threading.Event | None = None) -> None:
        deadline = time.monotonic() + patience
        while True:
            answer = self.send(session)
            if answer is not None and not transient(answer):
                self.status = answer.status_code
                self.body = answer.json() if answer.content else {}
                return
            if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return
            time.sleep(pause(answer))


def problem_code(response: requests.Response) -> tuple[str | None, str]:
    """The problem's code and who answered: a service's problem names its ``instance`` (the
    request's path), the gateway's own (service unreachable, timed out) does not."""
    if not response.headers.get("Content-Type", "").startswith(PROBLEM):
        return None, "service"
    try:
        body = response.json()
    except ValueError:
        return None, "service"
    return body.get("code"), "service" if "instance" in body else "gateway"


def transient(response: requests.Response | None) -> bool:
    if response is None or response.status_code in TRANSIENT:
        return True
    return response.status_code == 409 and problem_code(response)[0] == "idempotency_in_progress"


def pause(response: requests.Response | None) -> float:
    try:
        asked = float(response.headers["Retry-After"]) if response is not None else MAX_PAUSE / 2
    except (KeyError, ValueError):
        asked = MAX_PAUSE / 2
    return min(asked, MAX_PAUSE)


class Recorder:
    def __init__(self, gateway: str):
        self.gateway = gateway
        self.began = time.monotonic()
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self.began

    def send(
        self, endpoint: str, session: requests.Session, method: str, path: str, **kwargs
    ) -> requests.Response | None:
        at = self.now()
        try:
            response = session.request(method, self.gateway + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as error:
            self._add(Attempt(endpoint, at, 0, type(error).__name__, "client", False))
            return None
        code, origin = problem_code(response)
        self._add(
            Attempt(endpoint, at, response.status_code, code, origin, "Retry-After" in response.headers)
        )
        return response

    def _add(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)


@dataclass(frozen=True)
class Member:
    member_id: str
    token: str


@dataclass(frozen=True)
class Target:
    """What a run's load works on: its courses (id → capacity), its offer, and who is there."""

    courses: dict[str, int]
    offer_id: str
    store_id: str
    till_token: str
    campaign_code: str
    members: list[Member]


class MixedLoad:
    def __init__(self, gateway: str, target: Target, seed: str):
        self.target = target
        self.recorder = Recorder(gateway)
        self.seed = seed
        self.stop_event = threading.Event()
        self.operations: dict[str, list[Operation]] = defaultdict(list)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # --- running ------------------------------------------------------------------------------------

    def start(self) -> None:
        pairs = [(m, c) for m in self.target.members for c in self.target.courses]
        random.Random(f"{self.seed}:pairs").shuffle(pairs)
        loops = [(f"booker-{n}", self._booker, pairs[n::BOOKERS]) for n in range(BOOKERS)]
        loops += [(f"till-{n}", self._till, None) for n in range(TILLS)]
        loops += [("finder", self._finder, None), ("joiner", self._joiner, None)]
        for name, loop, share in loops:
            rng = random.Random(f"{self.seed}:{name}")
            args = (rng, share) if share is not None else (rng,)
            thread = threading.Thread(target=self._run, args=(loop, *args), name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout=PATIENCE + TIMEOUT + 5)

    def resolve(self, patience: float = 90.0) -> None:
        """Ask again for every operation left without a final answer, with its own Idempotency-Key."""
        with requests.Session() as session:
            for operation in self.unresolved():
                operation.settle(session, patience)

    def unresolved(self) -> list[Operation]:
        return [op for ops in self.operations.values() for op in ops if op.status is None]

    def _run(self, loop, *args) -> None:
        with requests.Session() as session:
            loop(session, *args)

    def _operate(self, session, kind: str, detail: dict, send) -> Operation:
        operation = Operation(kind, detail, send)
        with self._lock:
            self.operations[kind].append(operation)
        operation.settle(session, PATIENCE, self.stop_event)
        return operation

    def _think(self, rng: random.Random, low: float, high: float) -> None:
        self.stop_event.wait(rng.uniform(low, high))

    @staticmethod
    def _key(rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    # --- the clients --------------------------------------------------------------------------------

    def _booker(self, session, rng, pairs) -> None:
        for member, course_id in pairs:
            if self.stop_event.is_set():
                return
            headers = {**bearer(member.token), "Idempotency-Key": self._key(rng)}
            self._operate(
                session,
                "booking",
                {"course_id": course_id, "member_id": member.member_id},
                lambda s, c=course_id, h=headers: self.recorder.send(
                    "book", s, "POST", f"/api/v1/courses/{c}/bookings", json={}, headers=h
                ),
            )
            self._think(rng, 0.15, 0.45)

    def _till(self, session, rng) -> None:
        t = self.target
        while not self.stop_event.is_set():
            member = rng.choice(t.members)
            amount = rng.randrange(50, 301) * 100
            card = Operation(
                "card code",
                {},
                lambda s, m=member: self.recorder.send(
                    "card code", s, "GET", "/api/v1/members/me/card/token", headers=bearer(m.token)
                ),
            )
            card.settle(session, PATIENCE, self.stop_event)
            if card.status == 200:
                sale = {"card_token": card.body["token"], "store_id": t.store_id, "amount_fen": amount}
                headers = {**bearer(t.till_token), "Idempotency-Key": self._key(rng)}
                self._operate(
                    session,
                    "redemption",
                    {"member_id": member.member_id, "amount_fen": amount},
                    lambda s, b={**sale, "offer_id": t.offer_id}, h=headers: self.recorder.send(
                        "redeem", s, "POST", "/api/v1/redemptions", json=b, headers=h
                    ),
                )
            self._think(rng, 0.2, 0.5)

    def _finder(self, session, rng) -> None:
        while not self.stop_event.is_set():
            radius = rng.choice((2000, 5000, 10000))
            self.recorder.send(
                "find", session, "GET", "/api/v1/stations", params={**STATION_AT, "radius_m": radius}
            )
            self._think(rng, 0.1, 0.3)

    def _joiner(self, session, rng) -> None:
        while not self.stop_event.is_set():
            self._join(session, rng)
            self._think(rng, 0.2, 0.6)

    def _join(self, session, rng) -> None:
        rec, stop = self.recorder, self.stop_event
        # Logins are limited per address (60 a minute); a drive at a logistics park is many phones.
        phone = session_from(f"127.{rng.randrange(1, 255)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        wx_login = {"code": f"fault-{rng.getrandbits(64):x}"}
        login = Operation(
            "login",
            {},
            lambda s: rec.send("wechat login", phone, "POST", "/api/v1/auth/wechat", json=wx_login),
        )
        login.settle(session, PATIENCE, stop)
        phone.close()
        if login.status != 200:
            return
        worker = bearer(login.body["access_token"])
        mobile = f"139{rng.randrange(10**8):08d}"
        texted = Operation(
            "sms code",
            {},
            lambda s: rec.send(
                "sms code", s, "POST", "/api/v1/join/sms-code", json={"mobile": mobile}, headers=worker
            ),
        )
        texted.settle(session, PATIENCE, stop)
        code = texted.status == 202 and self._texted_code(session, mobile)
        if not code:
            return
        body = {
            "campaign_code": self.target.campaign_code,
            "name": "赵六",
            "mobile": mobile,
            "sms_code": code,
            "id_number": unique_resident_id(),
            "employer": "中通快递",
            "occupation": "快递员",
            "consent": True,
        }
        headers = {**worker, "Idempotency-Key": self._key(rng)}
        self._operate(
            session,
            "join",
            {"mobile": mobile},
            lambda s: rec.send("join", s, "POST", "/api/v1/join", json=body, headers=headers),
        )

    def _texted_code(self, session, mobile: str) -> str | None:
        """The code the identity fake "texted": its outbox, read through the gateway's local-only route.
        Not counted as load: the fake stands in for a phone, not for the system."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and not self.stop_event.is_set():
            try:
                found = session.get(
                    f"{self.recorder.gateway}/fake/sms/messages", params={"mobile": mobile}, timeout=TIMEOUT
                )
                if found.status_code == 200 and found.json():
                    return found.json()[0]["code"]
            except requests.RequestException:
                pass
            time.sleep(0.2)
        return None


# --- what the attempts say ----------------------------------------------------------------------------


def by_endpoint(attempts: list[Attempt]) -> dict[str, dict]:
    """Per endpoint: requests accepted, refused by the answer they got, and the unclean ones."""
    table: dict[str, dict] = {}
    for a in sorted(attempts, key=lambda a: a.at):
        row = table.setdefault(
            a.endpoint, {"requests": 0, "accepted": 0, "refused": Counter(), "unclean": Counter()}
        )
        row["requests"] += 1
        if a.accepted:
            row["accepted"] += 1
        elif a.clean:
            row["refused"][a.label()] += 1
        else:
            row["unclean"][a.label()] += 1
    return {
        name: {**row, "refused": dict(row["refused"]), "unclean": dict(row["unclean"])}
        for name, row in table.items()
    }


def recovery(attempts: list[Attempt], fault_began: float, fault_ended: float) -> dict[str, dict]:
    """Per endpoint: the first success at or after the fault's end, counted from it, and the outage as
    the clients saw it (first refusal from the fault's start to the first success after it)."""
    found: dict[str, dict] = {}
    for endpoint in sorted({a.endpoint for a in attempts}):
        mine = sorted((a for a in attempts if a.endpoint == endpoint), key=lambda a: a.at)
        after = next((a.at for a in mine if a.accepted and a.at >= fault_ended), None)
        refused = next(
            (a.at for a in mine if not a.accepted and a.at >= fault_began and a.status in TRANSIENT), None
        )
        back = next((a.at for a in mine if a.accepted and refused is not None and a.at > refused), None)
        found[endpoint] = {
            "first_success_after_end_s": None if after is None else round(after - fault_ended, 2),
            "refused_for_s": None if refused is None or back is None else round(back - refused, 2),
        }
    return found
