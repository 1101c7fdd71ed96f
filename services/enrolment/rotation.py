"""``unionhub rotate-pii``: move every member's encrypted data to the current PII key."""

from services.common import kit

from . import membership, secrets, service


def main() -> int:
    settings = kit.load_settings("enrolment")
    loaded = secrets.load(settings)
    database = kit.database("enrolment", settings)
    pii_keys = service.PiiKeys(loaded.pii, loaded.pii_hash_key)
    total = 0
    while True:
        # Small transactions: a large union's table is not locked for the whole run.
        changed = membership.reencrypt_personal_data(database.unit_of_work(), pii_keys)
        total += changed
        if changed == 0:
            return total
