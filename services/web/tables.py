"""The web pages own no data. The kit gives every service a database with the bus tables (outbox,
inbox); this one's stay empty, which keeps the web service deployable by the same scripts, charts
and checks as the others (docs/web.md says why that beat a special case)."""

from sqlalchemy import MetaData

from events.store import add_bus_tables

metadata = MetaData()
add_bus_tables(metadata)
