"""``unionhub rotate-pii``: move every member's encrypted data to the current PII key."""

from . import secrets, service
from .db import build_database
from .settings import EnrolmentSettings


def main() -> int:
    settings = EnrolmentSettings.from_env("enrolment")
    loaded = secrets.load(settings)
    database = build_database(settings)
    keys = service.Keys(loaded.pii, loaded.pii_hash_key)
    total = 0
    while True:
        # Small transactions: a large union's table is not locked for the whole run.
        with database.unit_of_work() as uow:
            changed = service.reencrypt_personal_data(uow, keys)
            uow.commit()
        total += changed
        if changed == 0:
            return total
