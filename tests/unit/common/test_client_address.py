"""Who may say where a request came from: only the configured proxies (issue 8, item 9)."""

import pytest

from services.common.config import Settings
from services.common.views import client_address, trusted_networks

LOOPBACK = trusted_networks(Settings.trusted_proxies)
GATEWAYS = trusted_networks("10.0.0.0/8, 127.0.0.1/32")


@pytest.mark.parametrize(
    "peer, forwarded_for, networks, client",
    [
        # A direct caller chooses nothing, whatever it writes.
        ("203.0.113.9", "198.51.100.1", LOOPBACK, "203.0.113.9"),
        ("203.0.113.9", "127.0.0.1", LOOPBACK, "203.0.113.9"),
        # Behind the local gateway: the address it appended, not what the client wrote before it.
        ("127.0.0.1", "198.51.100.1, 203.0.113.7", LOOPBACK, "203.0.113.7"),
        ("127.0.0.1", "203.0.113.7", LOOPBACK, "203.0.113.7"),
        ("127.0.0.1", None, LOOPBACK, "127.0.0.1"),
        ("::1", "2001:db8::7", LOOPBACK, "2001:db8::7"),
        # Two trusted hops: the right-most address that is not one of them.
        ("10.0.0.5", "198.51.100.1, 203.0.113.7, 10.0.0.9", GATEWAYS, "203.0.113.7"),
        # A client claiming to be a trusted proxy gains nothing: its claim is left of what was seen.
        ("10.0.0.5", "10.0.0.1, 203.0.113.7", GATEWAYS, "203.0.113.7"),
        # Every hop trusted: the left-most, which a trusted proxy wrote.
        ("10.0.0.5", "10.0.0.8, 10.0.0.9", GATEWAYS, "10.0.0.8"),
        # Garbage where a proxy of ours would have written an address: the last hop believed.
        ("127.0.0.1", "198.51.100.1, not-an-address", LOOPBACK, "127.0.0.1"),
        ("10.0.0.5", "junk, 10.0.0.9", GATEWAYS, "10.0.0.9"),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_holds(peer, forwarded_for, networks, client):
    assert client_address(peer, forwarded_for, networks) == client


def test_trusted_proxies_are_read_from_the_environment_as_cidrs():
    settings = Settings.from_env("enrolment", {"UNIONHUB_TRUSTED_PROXIES": "172.16.0.0/12,192.168.0.0/16"})

    networks = trusted_networks(settings.trusted_proxies)

    assert client_address("172.18.0.4", "203.0.113.7", networks) == "203.0.113.7"
    assert client_address("127.0.0.1", "203.0.113.7", networks) == "127.0.0.1"
