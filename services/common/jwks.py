"""Enrolment's JWKS as the other services hold it: fetched with ``requests`` and cached
(``JwksKeys``), with a copy in the service's own database for a process that starts while
enrolment is down (``IssuerKeysCopy``)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from typing import NamedTuple

import jwt
import requests
from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, Text, exc, select

from . import clock
from .auth import KeyNotFound, KeysUnavailable
from .sql import insert_on_conflict

log = logging.getLogger(__name__)


# What makes a key set unusable, fetched or kept: not JSON (ValueError), or not a key set.
_NOT_A_KEY_SET = (ValueError, TypeError, KeyError, jwt.PyJWTError)


def _key_set(document: str) -> dict[str, jwt.PyJWK]:
    return {k["kid"]: jwt.PyJWK(k) for k in json.loads(document)["keys"] if "kid" in k}


class JwksKeys:
    """Public keys from a JWKS URL, cached. A cache older than ``cache_seconds``, or a key id not in
    it (key rotation), sends one thread to the issuer again, at most once every
    ``min_refetch_seconds``. An issuer that does not answer leaves the keys held in use: enrolment
    down must not stop every signed-in request elsewhere once the cache ages (a till's sale checks
    its staff token here first). Only a token whose key is not held then cannot be checked.

    With ``copy``, each key set fetched is kept in the service's database, and a process that
    meets a key it does not hold while the issuer does not answer (one started during an outage)
    looks there before giving up. The copy only ever adds keys while the issuer is down: the next
    good answer replaces them, so a key withdrawn meanwhile is not kept alive by it."""

    def __init__(
        self,
        url: str,
        cache_seconds: int = 300,
        *,
        min_refetch_seconds: float = 10.0,
        session=None,
        copy: IssuerKeysCopy | None = None,
    ):
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.session = session or requests.Session()
        self._copy = copy
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")
        self._failing = False  # the last time the issuer was asked, it did not answer usably
        self._lock = threading.Lock()

    def key(self, kid: str):
        if kid not in self._keys or time.monotonic() - self._fetched_at > self.cache_seconds:
            # A key held is used while another thread asks the issuer (who may take its timeout to
            # fail); one not held has to wait for the answer.
            if self._lock.acquire(blocking=kid not in self._keys):
                try:
                    if time.monotonic() - self._tried_at >= self.min_refetch_seconds:
                        self._refresh()
                        if self._failing and kid not in self._keys:
                            self._add_kept_keys()
                finally:
                    self._lock.release()
        held = self._keys.get(kid)
        if held is not None:
            return held.key
        if self._failing:
            raise KeysUnavailable(self.url)
        raise KeyNotFound(kid)

    def _refresh(self) -> None:
        self._tried_at = time.monotonic()
        try:
            response = self.session.get(self.url, timeout=5)
            response.raise_for_status()
            document = response.text
            keys = _key_set(document)
        # An issuer answering garbage is as good as down, and must not turn every caller's token
        # into a 401.
        except (requests.RequestException, *_NOT_A_KEY_SET) as error:
            log.warning("JWKS %s did not answer usably (%s); keeping the keys held", self.url, error)
            self._failing = True
            return
        self._keys, self._fetched_at, self._failing = keys, time.monotonic(), False
        if self._copy is not None:
            self._copy.save(self.url, document)

    def _add_kept_keys(self) -> None:
        kept = self._copy.load(self.url) if self._copy is not None else None
        if kept is None:
            return
        try:
            keys = _key_set(kept.jwks)
        except _NOT_A_KEY_SET as error:
            log.warning("the database's copy of JWKS %s is no key set (%s)", self.url, error)
            return
        log.warning(
            "JWKS %s does not answer: checking tokens with its copy in the database, fetched at %s",
            self.url,
            kept.fetched_at.isoformat(),
        )
        # Added to the keys held, not put in their place: the copy may be older than what this
        # process fetched before the issuer went down.
        self._keys = {**keys, **self._keys}


def add_issuer_keys_table(metadata: MetaData) -> Table:
    """The table ``IssuerKeysCopy`` keeps in every service's database: the last key set each JWKS
    URL answered with. Not in Redis, as card keys are: whoever can write here owns the service
    already, while a key planted in a shared Redis would sign admin tokens for every service."""
    return Table(
        "issuer_keys",
        metadata,
        Column("url", String(500), primary_key=True),
        Column("jwks", Text, nullable=False),
        Column("fetched_at", DateTime(timezone=True), nullable=False),
    )


class KeptJwks(NamedTuple):
    jwks: str
    fetched_at: datetime


class IssuerKeysCopy:
    """JWKS documents kept in the service's ``issuer_keys`` table. A database that fails here is
    logged and passed over: the copy is a fallback, and must never fail a token check itself."""

    def __init__(self, engine: Engine, table: Table):
        self._engine = engine
        self._table = table
        self._saved: dict[str, str] = {}  # url -> the document this process last saved

    def save(self, url: str, jwks: str) -> None:
        # The issuer is asked every few minutes by every process, and its answer seldom changes: a
        # document already saved is not written again, by this process or (the WHERE) any other.
        if self._saved.get(url) == jwks:
            return
        t = self._table
        try:
            with self._engine.begin() as conn:
                insert = insert_on_conflict(conn, t).values(url=url, jwks=jwks, fetched_at=clock.now())
                conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=[t.c.url],
                        set_={"jwks": insert.excluded.jwks, "fetched_at": insert.excluded.fetched_at},
                        where=t.c.jwks != insert.excluded.jwks,
                    )
                )
        except exc.SQLAlchemyError as error:
            log.warning("could not keep a copy of JWKS %s in the database (%s)", url, error)
            return
        self._saved[url] = jwks

    def load(self, url: str) -> KeptJwks | None:
        t = self._table
        try:
            with self._engine.connect() as conn:
                row = conn.execute(select(t.c.jwks, t.c.fetched_at).where(t.c.url == url)).first()
        except exc.SQLAlchemyError as error:
            log.warning("could not read the copy of JWKS %s from the database (%s)", url, error)
            return None
        return None if row is None else KeptJwks(row.jwks, clock.utc(row.fetched_at))
