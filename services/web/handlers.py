"""The web pages react to no event: the worker only relays an outbox that stays empty."""

HANDLERS: dict = {}
