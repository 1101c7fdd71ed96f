"""Events enrolment reacts to. It is the source of member events and consumes none yet; its worker
runs the outbox relay."""

HANDLERS: dict = {}
