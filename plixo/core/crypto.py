"""Encryption at rest for the few secrets Plixo stores (an organization's Stripe keys).

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) with a rotatable key ring: the first
key of `PLIXO_ENCRYPTION_KEYS` encrypts, every key decrypts. Without that setting the ring is
derived from SECRET_KEY and SECRET_KEY_FALLBACKS, so rotating SECRET_KEY the Django way keeps
stored secrets readable until `plixo stripe rotate-keys` re-encrypts them.
"""

import base64
import hashlib
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys can decrypt."""


def _derived_key(secret_key: str) -> bytes:
    digest = hashlib.sha256(b"plixo.secrets.v1:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _keys() -> list[bytes]:
    if settings.PLIXO_ENCRYPTION_KEYS:
        return [key.encode() for key in settings.PLIXO_ENCRYPTION_KEYS]
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_derived_key(secret) for secret in secrets if secret]


def _ring() -> MultiFernet:
    keys = _keys()
    if not keys:
        raise ImproperlyConfigured("Set SECRET_KEY or PLIXO_ENCRYPTION_KEYS to store secrets.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PLIXO_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes); "
            "make one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _ring().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _ring().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with the configured keys; was the encryption "
            "key changed without keeping the old one?"
        ) from exc


def reencrypt(token: str) -> str:
    """The same secret under the current first key (unchanged when it already is)."""
    if not token:
        return ""
    try:
        return _ring().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with the configured keys."
        ) from exc


def hint(secret: str) -> str:
    """What may be shown of a secret again: its kind prefix and last four characters."""
    secret = secret or ""
    if len(secret) < 12:
        return "••••"
    match = re.match(r"^((?:sk|rk|pk)_(?:test|live)_|whsec_)", secret)
    shown = match.group(1) if match else ""
    return f"{shown}••••{secret[-4:]}"
