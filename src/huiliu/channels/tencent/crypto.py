"""Tencent's callback crypto (the algorithm of the WXBizMsgCrypt SDKs, shared by WeChat Official
Accounts and WeCom). Pure: no I/O.

- signature: SHA1 over the sorted concatenation of token, timestamp, nonce (and the encrypted
  message in safe mode, ``msg_signature``), lower-case hex;
- AESKey = Base64_Decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = AESKey[:16];
- plaintext = 16 random bytes + msg length (4 bytes, network order) + msg + receive id (the app id
  of an Official Account, the corp id of WeCom), PKCS#7-padded to a multiple of 32 bytes;
- msg_encrypt = Base64(ciphertext).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from huiliu.core.errors import HuiliuError, NotAuthenticated, ValidationFailed

ENCODING_AES_KEY_LENGTH = 43
BLOCK = 32  # PKCS#7 padding block of the protocol (not AES's 16)
RANDOM_PREFIX = 16


class BadSignature(NotAuthenticated):
    slug = "bad-signature"
    title = "The callback signature is missing or wrong"


class BadCiphertext(HuiliuError):
    status = 400
    slug = "bad-ciphertext"
    title = "The encrypted message cannot be decrypted with this entry point's key"


def signature(token: str, timestamp: str, nonce: str, encrypted: str | None = None) -> str:
    """SHA1 of the sorted parts: ``signature`` without ``encrypted``, ``msg_signature`` with it."""
    parts = [token, timestamp, nonce] + ([encrypted] if encrypted is not None else [])
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(
    given: str | None, token: str, timestamp: str | None, nonce: str | None, encrypted: str | None = None
) -> None:
    """BadSignature unless ``given`` is the signature of these parts (compared in constant time)."""
    if not given or timestamp is None or nonce is None:
        raise BadSignature("signature, timestamp and nonce are required")
    expected = signature(token, timestamp, nonce, encrypted)
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise BadSignature()


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey; ValidationFailed when it is not one."""
    if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH or not encoding_aes_key.isalnum():
        raise ValidationFailed("an EncodingAESKey is 43 letters and digits")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValidationFailed("the EncodingAESKey is not valid Base64") from exc
    if len(key) != 32:
        raise ValidationFailed("the EncodingAESKey does not decode to 32 bytes")
    return key


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(key: bytes, message: bytes, receive_id: str, random_prefix: bytes | None = None) -> str:
    """``msg_encrypt`` of ``message`` for ``receive_id`` (16 fresh random bytes unless given)."""
    prefix = os.urandom(RANDOM_PREFIX) if random_prefix is None else random_prefix
    if len(prefix) != RANDOM_PREFIX:
        raise ValueError("the random prefix is 16 bytes")
    plain = prefix + struct.pack(">I", len(message)) + message + receive_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@dataclass(frozen=True)
class Decrypted:
    message: bytes
    receive_id: str


def decrypt(key: bytes, encrypted: str) -> Decrypted:
    """The message and receive id inside ``msg_encrypt``; BadCiphertext when anything is off
    (Base64, block length, padding, length field)."""
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadCiphertext("the encrypted message is not Base64") from exc
    if not data or len(data) % 16:
        raise BadCiphertext("the encrypted message is not a whole number of AES blocks")
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise BadCiphertext("the padding of the decrypted message is wrong")
    plain = plain[:-pad]
    if len(plain) < RANDOM_PREFIX + 4:
        raise BadCiphertext("the decrypted message is too short")
    (length,) = struct.unpack(">I", plain[RANDOM_PREFIX : RANDOM_PREFIX + 4])
    body = plain[RANDOM_PREFIX + 4 :]
    if length > len(body):
        raise BadCiphertext("the length field of the decrypted message is wrong")
    try:
        receive_id = body[length:].decode()
    except UnicodeDecodeError as exc:
        raise BadCiphertext("the receive id of the decrypted message is not text") from exc
    return Decrypted(body[:length], receive_id)


def decrypt_for(key: bytes, encrypted: str, receive_id: str) -> bytes:
    """Decrypt and check the receive id (app id / corp id): a message for another account is refused."""
    decrypted = decrypt(key, encrypted)
    if not hmac.compare_digest(decrypted.receive_id.encode(), receive_id.encode()):
        raise BadCiphertext("the message was encrypted for another app id or corp id")
    return decrypted.message


def jsapi_signature(ticket: str, noncestr: str, timestamp: str, url: str) -> str:
    """The JS-SDK ``wx.config`` / WeCom ``agentConfig`` signature: SHA1 of
    ``jsapi_ticket=…&noncestr=…&timestamp=…&url=…`` with the page URL without its ``#`` fragment."""
    page = url.split("#", 1)[0]
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page}"
    return hashlib.sha1(plain.encode()).hexdigest()
