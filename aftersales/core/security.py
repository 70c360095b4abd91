"""Passwords, API tokens and encryption of platform credentials at rest."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from aftersales.core.errors import ConfigError, InvalidInput
from aftersales.core.i18n import N_, gettext

_hasher = PasswordHasher()
TOKEN_PREFIX = "as_"
# Verifying against a real hash when the user does not exist keeps the
# response time the same, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; a cap keeps a huge form from costing us


def check_new_password(password: str) -> None:
    """Refuse a password too short to resist guessing, in the reader's language.

    Length is the rule that helps most and annoys least (NIST SP 800-63B);
    no composition rules.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        message = gettext(N_("A password needs at least %(count)s characters.")) % {
            "count": MIN_PASSWORD_LENGTH
        }
        raise InvalidInput(message, code="password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        message = gettext(N_("A password may be at most %(count)s characters.")) % {
            "count": MAX_PASSWORD_LENGTH
        }
        raise InvalidInput(message, code="password_too_long")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a fast hash is enough (no brute force)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"aftersales", info=b"credentials"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_credentials(secret_key: str, credentials: dict[str, Any]) -> str:
    return _fernet(secret_key).encrypt(json.dumps(credentials).encode()).decode()


def decrypt_credentials(secret_key: str, blob: str) -> dict[str, Any]:
    if not blob:
        return {}
    try:
        return json.loads(_fernet(secret_key).decrypt(blob.encode()))
    except InvalidToken:
        raise ConfigError(
            "store credentials cannot be decrypted: AFTERSALES_SECRET_KEY changed"
        ) from None
