"""The event bus every service uses.

CloudEvents envelopes on Kafka (binary content mode), a topic catalogue, a transactional outbox with
its relay, and a consumer runner that applies each event exactly once. See docs/events.md.
"""
