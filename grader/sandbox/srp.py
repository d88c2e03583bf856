"""SRP-6a as Amazon Cognito user pools use it (USER_SRP_AUTH / PASSWORD_VERIFIER).

Both sides of the exchange, pure math, no I/O:

* server: :func:`start_server_challenge` answers ``SRP_A`` with ``SALT`` and ``SRP_B`` and
  :meth:`ServerChallenge.verify_claim` checks the client's ``PASSWORD_CLAIM_SIGNATURE``;
* client: :class:`SrpClient` computes ``SRP_A`` and the ``ChallengeResponses`` of a
  ``PASSWORD_VERIFIER`` challenge, as amazon-cognito-identity-js does.

The conventions are the ones the Cognito SDKs share: the 3072-bit group of RFC 3526 (the
RFC 5054 3072-bit group), ``g = 2``, SHA-256, every number hashed as the bytes of its
"padded hex" (:func:`pad_hex`), ``k = H(N | g)``, ``u = H(A | B)``,
``x = H(salt | H(poolName | userIdForSrp | ":" | password))`` where ``poolName`` is the part
of the pool id after ``_``, a 16-byte key ``HKDF(salt=u, ikm=S, info="Caldera Derived Key")``
and the claim ``base64(HMAC-SHA256(key, poolName | userIdForSrp | secretBlock | timestamp))``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "N_HEX",
    "G",
    "K",
    "N",
    "ServerChallenge",
    "SrpClient",
    "SrpError",
    "compute_k",
    "compute_u",
    "compute_verifier",
    "compute_x",
    "derive_key",
    "format_timestamp",
    "pad_hex",
    "password_claim_signature",
    "pool_name_of",
    "secret_hash",
    "start_server_challenge",
]

N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
    "955817183995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64"
    "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D226"
    "1AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
"""The 3072-bit safe prime of RFC 3526 / RFC 5054, as Cognito uses it."""
N = int(N_HEX, 16)
G = 2
INFO = b"Caldera Derived Key"
_EPHEMERAL_BITS = 256  # RFC 5054 asks for >= 256 bits; the JS SDK draws 1024 (slower, no safer here)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class SrpError(ValueError):
    """An SRP value is malformed or unsafe (e.g. ``A % N == 0``)."""


def pad_hex(value: int) -> str:
    """Hex of a non-negative integer, even length, with ``00`` prepended when the top bit is set.

    This is the SDKs' ``padHex``: the bytes are those of a positive two's complement number.
    """
    if value < 0:
        raise SrpError("pad_hex expects a non-negative integer")
    text = format(value, "x")
    if len(text) % 2:
        return "0" + text
    if text[0] in "89abcdef":
        return "00" + text
    return text


def _hash_hex(hex_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_text)).hexdigest()


def compute_k() -> int:
    """``k = H(pad(N) | pad(g))``."""
    return int(_hash_hex(pad_hex(N) + pad_hex(G)), 16)


K = compute_k()


def pool_name_of(pool_id: str) -> str:
    """The part of a pool id after the first ``_`` (``us-east-1_AbC123`` -> ``AbC123``)."""
    return pool_id.split("_", 1)[1] if "_" in pool_id else pool_id


def compute_u(big_a: int, big_b: int) -> int:
    """``u = H(pad(A) | pad(B))``."""
    return int(_hash_hex(pad_hex(big_a) + pad_hex(big_b)), 16)


def compute_x(pool_id: str, user_id_for_srp: str, password: str, salt: int) -> int:
    """``x = H(pad(salt) | H(poolName | userIdForSrp | ":" | password))``."""
    inner = hashlib.sha256(f"{pool_name_of(pool_id)}{user_id_for_srp}:{password}".encode()).hexdigest()
    return int(_hash_hex(pad_hex(salt) + inner), 16)


def compute_verifier(pool_id: str, user_id_for_srp: str, password: str, salt: int) -> int:
    """The password verifier ``v = g^x mod N``."""
    return pow(G, compute_x(pool_id, user_id_for_srp, password, salt), N)


def derive_key(shared_secret: int, u: int) -> bytes:
    """The 16-byte session key: HKDF-SHA256(salt=pad(u), ikm=pad(S), info="Caldera Derived Key")."""
    prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(shared_secret)), "sha256")
    return hmac.new(prk.digest(), INFO + b"\x01", "sha256").digest()[:16]


def format_timestamp(moment: datetime | None = None) -> str:
    """Cognito's TIMESTAMP, e.g. ``Tue Nov 3 06:13:42 UTC 2026`` (day of month not padded)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day} {moment:%H:%M:%S} UTC {moment.year}"


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SrpError(f"{what} is not valid base64") from exc


def password_claim_signature(key: bytes, pool_id: str, user_id_for_srp: str, secret_block: str, timestamp: str) -> str:
    """``base64(HMAC-SHA256(key, poolName | userIdForSrp | b64decode(secretBlock) | timestamp))``."""
    message = (
        pool_name_of(pool_id).encode()
        + user_id_for_srp.encode()
        + _b64decode(secret_block, "SECRET_BLOCK")
        + timestamp.encode()
    )
    return base64.b64encode(hmac.new(key, message, "sha256").digest()).decode()


def secret_hash(client_id: str, client_secret: str, username: str) -> str:
    """Cognito's SECRET_HASH: ``base64(HMAC-SHA256(clientSecret, username | clientId))``."""
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), "sha256").digest()
    return base64.b64encode(digest).decode()


def _parse_hex(text: str, what: str) -> int:
    try:
        return int(text, 16)
    except (TypeError, ValueError) as exc:
        raise SrpError(f"{what} is not a hex number") from exc


# --------------------------------------------------------------------------------------
# server side


@dataclass(frozen=True)
class ServerChallenge:
    """The server's half of one SRP exchange, kept between InitiateAuth and the claim."""

    pool_id: str
    user_id_for_srp: str
    salt: int
    verifier: int
    big_a: int
    small_b: int
    big_b: int

    @property
    def salt_hex(self) -> str:
        """``SALT`` as sent to the client."""
        return format(self.salt, "x")

    @property
    def srp_b_hex(self) -> str:
        """``SRP_B`` as sent to the client."""
        return format(self.big_b, "x")

    def session_key(self) -> bytes:
        """The key the client must also derive: ``S = (A * v^u)^b mod N`` through HKDF."""
        u = compute_u(self.big_a, self.big_b)
        if u == 0:
            raise SrpError("u is zero")
        shared = pow(self.big_a * pow(self.verifier, u, N) % N, self.small_b, N)
        return derive_key(shared, u)

    def expected_signature(self, secret_block: str, timestamp: str) -> str:
        """The ``PASSWORD_CLAIM_SIGNATURE`` a client that knows the password sends."""
        return password_claim_signature(self.session_key(), self.pool_id, self.user_id_for_srp, secret_block, timestamp)

    def verify_claim(self, secret_block: str, timestamp: str, signature: str) -> bool:
        """True when ``signature`` proves knowledge of the password (constant-time compare)."""
        try:
            expected = self.expected_signature(secret_block, timestamp)
        except SrpError:
            return False
        return hmac.compare_digest(expected.encode(), (signature or "").encode())


def start_server_challenge(
    pool_id: str,
    user_id_for_srp: str,
    password: str,
    srp_a_hex: str,
    *,
    salt: int | None = None,
    small_b: int | None = None,
) -> ServerChallenge:
    """Answer a client's ``SRP_A``: pick salt and ``b``, ``B = (k*v + g^b) mod N``.

    Raises :class:`SrpError` when ``SRP_A`` is not hex or ``A % N == 0``.
    """
    big_a = _parse_hex(srp_a_hex, "SRP_A")
    if big_a % N == 0:
        raise SrpError("SRP_A mod N is zero")
    if salt is None:
        salt = int.from_bytes(secrets.token_bytes(16), "big")
    verifier = compute_verifier(pool_id, user_id_for_srp, password, salt)
    while True:
        b = small_b if small_b is not None else secrets.randbits(_EPHEMERAL_BITS)
        big_b = (K * verifier + pow(G, b, N)) % N
        if big_b != 0 and compute_u(big_a, big_b) != 0:
            break
        if small_b is not None:
            raise SrpError("the given b yields B = 0 or u = 0")
    return ServerChallenge(pool_id, user_id_for_srp, salt, verifier, big_a, b, big_b)


# --------------------------------------------------------------------------------------
# client side


class SrpClient:
    """A Cognito SRP client, the math of amazon-cognito-identity-js's AuthenticationHelper."""

    def __init__(self, pool_id: str, *, small_a: int | None = None) -> None:
        self.pool_id = pool_id
        while True:
            self.small_a = small_a if small_a is not None else secrets.randbits(_EPHEMERAL_BITS)
            self.big_a = pow(G, self.small_a, N)
            if self.big_a % N:
                break
            if small_a is not None:
                raise SrpError("the given a yields A = 0")

    @property
    def srp_a_hex(self) -> str:
        """``SRP_A`` for InitiateAuth's AuthParameters."""
        return format(self.big_a, "x")

    def session_key(self, user_id_for_srp: str, password: str, salt_hex: str, srp_b_hex: str) -> bytes:
        """``S = (B - k*g^x)^(a + u*x) mod N`` through HKDF, from the challenge values."""
        big_b = _parse_hex(srp_b_hex, "SRP_B")
        if big_b % N == 0:
            raise SrpError("SRP_B mod N is zero")
        u = compute_u(self.big_a, big_b)
        if u == 0:
            raise SrpError("u is zero")
        x = compute_x(self.pool_id, user_id_for_srp, password, _parse_hex(salt_hex, "SALT"))
        shared = pow(big_b - K * pow(G, x, N), self.small_a + u * x, N)
        return derive_key(shared, u)

    def password_claim(
        self,
        user_id_for_srp: str,
        password: str,
        salt_hex: str,
        srp_b_hex: str,
        secret_block: str,
        timestamp: str,
    ) -> str:
        """``PASSWORD_CLAIM_SIGNATURE`` for the given challenge values."""
        key = self.session_key(user_id_for_srp, password, salt_hex, srp_b_hex)
        return password_claim_signature(key, self.pool_id, user_id_for_srp, secret_block, timestamp)

    def challenge_responses(
        self,
        challenge_parameters: Mapping[str, str],
        password: str,
        *,
        timestamp: str | None = None,
    ) -> dict[str, str]:
        """RespondToAuthChallenge ``ChallengeResponses`` for PASSWORD_VERIFIER, as the browser SDK sends them.

        ``USERNAME`` is ``USER_ID_FOR_SRP`` (the SDK sends that back). Add ``SECRET_HASH`` yourself
        for a client with a secret.
        """
        user_id = challenge_parameters["USER_ID_FOR_SRP"]
        stamp = timestamp or format_timestamp()
        return {
            "USERNAME": user_id,
            "PASSWORD_CLAIM_SECRET_BLOCK": challenge_parameters["SECRET_BLOCK"],
            "PASSWORD_CLAIM_SIGNATURE": self.password_claim(
                user_id,
                password,
                challenge_parameters["SALT"],
                challenge_parameters["SRP_B"],
                challenge_parameters["SECRET_BLOCK"],
                stamp,
            ),
            "TIMESTAMP": stamp,
        }
