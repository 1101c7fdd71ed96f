"""What a test needs to say that a refused request changed nothing, and what an answer said."""

from __future__ import annotations

import hashlib
import sqlite3


class Watch:
    """Whether any service's database changed. SQLite's ``data_version`` moves when another
    connection commits a change, so most calls cost one pragma per database; when it moves, a digest
    of every table names what changed."""

    def __init__(self, apps):
        self.conns = {}
        for name, app in apps.items():
            path = app.extensions["unionhub"].db.engine.url.database
            self.conns[name] = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        self.versions = self._versions()
        self.digests = {name: self._digest(conn) for name, conn in self.conns.items()}

    def _versions(self) -> dict[str, int]:
        return {name: conn.execute("PRAGMA data_version").fetchone()[0] for name, conn in self.conns.items()}

    @staticmethod
    def _digest(conn) -> dict[str, str]:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        digests = {}
        for table in tables:
            rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"'))
            digests[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return digests

    def changes(self) -> list[str]:
        """The tables changed since the last look."""
        changed, versions = [], self._versions()
        for name, version in versions.items():
            if version != self.versions[name]:
                digest = self._digest(self.conns[name])
                changed += [f"{name}.{t}" for t, d in digest.items() if self.digests[name].get(t) != d]
                self.digests[name] = digest
        self.versions = versions
        return changed

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def said(reply) -> str:
    """What an answer said, short: its problem code, or the start of its text, or its type."""
    kind = reply.headers.get("Content-Type", "")
    if "json" in kind:
        body = reply.json()
        if isinstance(body, dict) and "code" in body:
            return body["code"]
    if kind.startswith(("text/", "application/json", "application/problem+json")):
        return reply.text[:120].strip()
    return f"<{len(reply.content)} bytes of {kind}>"
