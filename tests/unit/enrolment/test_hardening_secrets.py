"""Key material is never made silently, and outside the quick start never made at all (issue 8, item 11)."""

import base64
import logging
import os

import pytest

from services.common import idempotency
from services.enrolment import secrets
from services.enrolment.settings import EnrolmentSettings

GIVEN = {
    "pii_keys": "k1:" + base64.b64encode(os.urandom(32)).decode(),
    "pii_hash_key": base64.b64encode(os.urandom(32)).decode(),
    "card_token_secret": base64.b64encode(os.urandom(32)).decode(),
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
    for variable in ("UNIONHUB_PII_KEYS", "UNIONHUB_PII_HASH_KEY", "UNIONHUB_CARD_TOKEN_SECRET"):
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
    assert inline.pii_hash_key == mounted.pii_hash_key and len(inline.card_token_secret) == 32
    with pytest.raises(FileExistsError):
        secrets.write_key_files(tmp_path / "keys")
