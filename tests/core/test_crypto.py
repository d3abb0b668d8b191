"""Encryption at rest with a rotatable key ring: the first key encrypts, every key decrypts,
and `reencrypt` moves a secret onto the first key."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from plixo.core import crypto
from plixo.core.crypto import SecretUnreadable

SECRET = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"


@pytest.fixture
def keys():
    return Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_round_trip(keys):
    old, _ = keys
    with override_settings(PLIXO_ENCRYPTION_KEYS=[old]):
        token = crypto.encrypt(SECRET)
        assert SECRET not in token
        assert token != crypto.encrypt(SECRET)  # a fresh IV each time
        assert crypto.decrypt(token) == SECRET


def test_empty_token_decrypts_to_empty():
    assert crypto.decrypt("") == ""
    assert crypto.reencrypt("") == ""


def test_rotation_reads_old_tokens_and_reencrypt_moves_them_to_the_new_key(keys):
    old, new = keys
    with override_settings(PLIXO_ENCRYPTION_KEYS=[old]):
        token = crypto.encrypt(SECRET)

    with override_settings(PLIXO_ENCRYPTION_KEYS=[new, old]):
        assert crypto.decrypt(token) == SECRET
        moved = crypto.reencrypt(token)
        fresh = crypto.encrypt(SECRET)

    assert moved != token
    assert Fernet(new.encode()).decrypt(moved.encode()).decode() == SECRET
    assert Fernet(new.encode()).decrypt(fresh.encode()).decode() == SECRET  # new key encrypts
    with override_settings(PLIXO_ENCRYPTION_KEYS=[new]):
        assert crypto.decrypt(moved) == SECRET
        with pytest.raises(SecretUnreadable):
            crypto.decrypt(token)  # the old token needed the old key
    with override_settings(PLIXO_ENCRYPTION_KEYS=[old]):
        assert crypto.decrypt(token) == SECRET
        with pytest.raises(SecretUnreadable):
            crypto.decrypt(moved)  # once moved, the old-only ring can no longer read it


def test_wrong_key_is_secret_unreadable(keys):
    old, new = keys
    with override_settings(PLIXO_ENCRYPTION_KEYS=[old]):
        token = crypto.encrypt(SECRET)
    with override_settings(PLIXO_ENCRYPTION_KEYS=[new]):
        with pytest.raises(SecretUnreadable):
            crypto.decrypt(token)
        with pytest.raises(SecretUnreadable):
            crypto.reencrypt(token)


def test_tampered_token_is_secret_unreadable(keys):
    old, _ = keys
    with override_settings(PLIXO_ENCRYPTION_KEYS=[old]):
        token = crypto.encrypt(SECRET)
        middle = len(token) // 2
        tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
        with pytest.raises(SecretUnreadable):
            crypto.decrypt(tampered)


def test_without_encryption_keys_the_ring_follows_secret_key_and_its_fallbacks():
    with override_settings(
        PLIXO_ENCRYPTION_KEYS=[], SECRET_KEY="first-secret-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[]
    ):
        token = crypto.encrypt(SECRET)
        assert crypto.decrypt(token) == SECRET
    # SECRET_KEY rotated the Django way: the old one kept as a fallback still reads it.
    with override_settings(
        PLIXO_ENCRYPTION_KEYS=[],
        SECRET_KEY="second-secret-key-" + "y" * 40,
        SECRET_KEY_FALLBACKS=["first-secret-key-" + "x" * 40],
    ):
        assert crypto.decrypt(token) == SECRET
        moved = crypto.reencrypt(token)
    with override_settings(
        PLIXO_ENCRYPTION_KEYS=[],
        SECRET_KEY="second-secret-key-" + "y" * 40,
        SECRET_KEY_FALLBACKS=[],
    ):
        assert crypto.decrypt(moved) == SECRET
        with pytest.raises(SecretUnreadable):
            crypto.decrypt(token)


def test_a_key_that_is_not_a_fernet_key_is_a_configuration_error():
    with (
        override_settings(PLIXO_ENCRYPTION_KEYS=["not-a-fernet-key"]),
        pytest.raises(ImproperlyConfigured, match="Fernet"),
    ):
        crypto.encrypt(SECRET)


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc", "sk_test_••••p7dc"),
        ("rk_live_" + "abcdefgh12345678", "rk_live_••••5678"),
        ("whsec_" + "plixoTestSigningSecret0123456789", "whsec_••••6789"),
        ("something-else-long", "••••long"),
        ("short", "••••"),
        ("", "••••"),
    ],
)
def test_hint_shows_only_the_kind_and_last_four(secret, shown):
    assert crypto.hint(secret) == shown
