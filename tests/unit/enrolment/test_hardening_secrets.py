"""Key material is never made silently, and outside the quick start never made at all (issue 8, item 11)."""

import base64
import json
import logging
import os

import pytest
from cryptography.hazmat.primitives import serialization

from services.common import card_codes, idempotency
from services.enrolment import secrets
from services.enrolment.settings import EnrolmentSettings

GIVEN = {
    "pii_keys": "k1:" + base64.b64encode(os.urandom(32)).decode(),
    "pii_hash_key": base64.b64encode(os.urandom(32)).decode(),
    "card_keys": base64.b64encode(os.urandom(32)).decode(),
}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIONHUB_HOME", str(tmp_path))
    return tmp_path


def test_generating_local_keys_logs_a_warning_naming_the_file_once(home, caplog):
    settings = EnrolmentSettings(service="enrolment")

    with caplog.at_level(logging.WARNING, logger=secrets.__name__):
        secrets.load(settings)
        secrets.load(settings)  # the second start reads the file: nothing new to warn about

    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(home / "enrolment" / "secrets.json") in record.getMessage()
    assert "UNIONHUB_GENERATE_LOCAL_SECRETS=false" in record.getMessage()


def test_without_local_generation_missing_keys_stop_start_up_naming_each(home):
    settings = EnrolmentSettings(service="enrolment", generate_local_secrets=False, **GIVEN)

    with pytest.raises(secrets.MissingKeys) as refused:
        secrets.load(settings)

    assert "UNIONHUB_JWT_KEYS_FILE" in str(refused.value)
    for variable in ("UNIONHUB_PII_KEYS", "UNIONHUB_PII_HASH_KEY", "UNIONHUB_CARD_KEYS"):
        assert variable not in str(refused.value)  # only what is missing
    assert not (home / "enrolment" / "secrets.json").exists()


def test_nothing_set_and_no_generation_names_every_key(home):
    with pytest.raises(secrets.MissingKeys) as refused:
        secrets.load(EnrolmentSettings(service="enrolment", generate_local_secrets=False))

    assert all(variable in str(refused.value) for variable in secrets.REQUIRED.values())


def test_the_idempotency_key_is_derived_from_the_pii_hash_key_unless_given(home):
    derived = secrets.load(EnrolmentSettings(service="enrolment", **GIVEN))
    given = base64.b64encode(b"k" * 32).decode()
    configured = secrets.load(EnrolmentSettings(service="enrolment", idempotency_key_secret=given, **GIVEN))

    pii_hash_key = base64.b64decode(GIVEN["pii_hash_key"])
    assert derived.idempotency_key == idempotency.derive_secret(pii_hash_key) != pii_hash_key
    assert configured.idempotency_key == b"k" * 32


def _env_file(path) -> dict[str, str]:
    """KEY=VALUE lines as compose's --env-file reads them (single quotes: taken literally)."""
    values = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition("=")
        values[name] = value[1:-1] if value[:1] == value[-1:] == "'" else value
    return values


def test_keys_written_for_a_deployment_start_it_with_generation_off_and_are_never_overwritten(tmp_path):
    jwt_file, env_file = secrets.write_key_files(tmp_path / "keys")

    assert {oct(p.stat().st_mode & 0o777) for p in (jwt_file, env_file)} == {"0o600"}
    env = _env_file(env_file)
    from_env = EnrolmentSettings.from_env("enrolment", {**env, "UNIONHUB_GENERATE_LOCAL_SECRETS": "false"})
    from_file = EnrolmentSettings.from_env(
        "enrolment",
        {
            **env,
            "UNIONHUB_JWT_KEYS": "",
            "UNIONHUB_JWT_KEYS_FILE": str(jwt_file),
            "UNIONHUB_GENERATE_LOCAL_SECRETS": "false",
        },
    )
    inline, mounted = secrets.load(from_env), secrets.load(from_file)
    assert [k.kid for k in inline.signing_keys] == [k.kid for k in mounted.signing_keys]
    assert inline.pii_hash_key == mounted.pii_hash_key
    assert _card_kids(inline) == _card_kids(mounted) and len(inline.card_keys) == 1
    with pytest.raises(FileExistsError):
        secrets.write_key_files(tmp_path / "keys")


def _card_kids(loaded) -> list[str]:
    return [card_codes.key_id(k.public_key()) for k in loaded.card_keys]


def test_card_keys_are_a_ring_the_first_signing(home):
    new, old = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))

    loaded = secrets.load(EnrolmentSettings(service="enrolment", **{**GIVEN, "card_keys": f"{new},{old}"}))

    assert [base64.b64encode(k.private_bytes_raw()).decode() for k in loaded.card_keys] == [new, old]


@pytest.mark.parametrize("ring", ["c2hvcnQ=", "not base64!", f"{GIVEN['card_keys']},"])
def test_a_card_key_that_is_not_32_bytes_of_base64_stops_start_up_naming_the_variable(home, ring):
    with pytest.raises(ValueError, match="UNIONHUB_CARD_KEYS"):
        secrets.load(EnrolmentSettings(service="enrolment", **{**GIVEN, "card_keys": ring}))


def test_a_jwt_signing_key_is_refused_as_a_card_key(home):
    jwt_keys = [secrets._new_signing_key()]
    private = serialization.load_pem_private_key(jwt_keys[0]["pem"].encode(), password=None)
    reused = base64.b64encode(private.private_bytes_raw()).decode()
    settings = EnrolmentSettings(
        service="enrolment", jwt_keys=json.dumps(jwt_keys), **{**GIVEN, "card_keys": reused}
    )

    with pytest.raises(ValueError, match="JWT signing key"):
        secrets.load(settings)


def test_a_local_key_file_from_before_card_keys_gains_one_and_keeps_every_other_key(home, caplog):
    path = home / "enrolment" / "secrets.json"
    path.parent.mkdir()
    earlier = secrets.new_key_material()
    del earlier["card_keys"]
    earlier["card_token_secret"] = base64.b64encode(os.urandom(32)).decode()  # what an older release kept
    path.write_text(json.dumps(earlier))

    with caplog.at_level(logging.WARNING, logger=secrets.__name__):
        first = secrets.load(EnrolmentSettings(service="enrolment"))
        again = secrets.load(EnrolmentSettings(service="enrolment"))

    kept = json.loads(path.read_text())
    assert {k: kept[k] for k in earlier} == earlier
    assert _card_kids(first) == _card_kids(again) and len(first.card_keys) == 1
    assert [k.kid for k in first.signing_keys] == [k["kid"] for k in earlier["jwt_keys"]]
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "card_keys" in record.getMessage() and "jwt_keys" not in record.getMessage()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
