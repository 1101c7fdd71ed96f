"""What every service's views reach for: the service context, a unit of work that carries the
request's trace context and id, the caller's address, and answers that must not be cached."""

from __future__ import annotations

import functools
import ipaddress

from flask import Response, current_app, g, has_request_context, make_response, request

from .auth import principal
from .db import UnitOfWork
from .observability import current_traceparent
from .web import ServiceContext

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def context() -> ServiceContext:
    return current_app.extensions["unionhub"]


def caller_member_id() -> str | None:
    """The member id the caller's token names (None for staff). The token of someone whose
    membership has since moved to another person (an identity dispute's decision) is refused, 401:
    it names a member id that is no longer theirs."""
    caller = principal()
    moved = context().moved_memberships
    if caller.member_id and moved is not None:
        moved.check(caller.member_id, caller.claims["iat"])
    return caller.member_id


def unit_of_work() -> UnitOfWork:
    request_id = getattr(g, "request_id", None) if has_request_context() else None
    return context().db.unit_of_work(traceparent=current_traceparent(), request_id=request_id)


def client_ip() -> str:
    """The caller's address, as rate limits count it."""
    return client_address(
        request.remote_addr or "",
        request.headers.get("X-Forwarded-For"),
        trusted_networks(context().settings.trusted_proxies),
    )


@functools.cache
def trusted_networks(cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs.split(",") if c.strip())


def _address(raw: str):
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in n for n in networks)


def client_address(peer: str, forwarded_for: str | None, networks) -> str:
    """The right-most address of X-Forwarded-For that no trusted proxy holds, when the peer is one.

    Each trusted proxy appends the address it saw, so walking from the right, the first address
    that is not a trusted proxy is the client as our own proxies saw it. Everything to its left is
    whatever the client wrote. A peer that is not a trusted proxy is the client itself, whatever
    header it sends: otherwise a direct caller picks its own rate-limit bucket.
    """
    if not forwarded_for or not _trusted(_address(peer), networks):
        return peer
    seen = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            # Not an address: nothing a proxy of ours wrote; the last hop believed is the answer.
            return seen
        seen = str(address)
        if not _trusted(address, networks):
            return seen
    return seen


def no_store(body, status: int = 200) -> Response:
    """Personal data and single-use codes: no cache on the way may keep a copy."""
    response = make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response
