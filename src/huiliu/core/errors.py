"""Domain errors. Services raise these; ``core.problem`` maps them to RFC 9457 problem+json once."""

from __future__ import annotations

from typing import Any


class HuiliuError(Exception):
    """Base class: every subclass knows its HTTP status and a stable problem type slug."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ValidationFailed(HuiliuError):
    status = 422
    slug = "validation-failed"
    title = "The request is not valid"


class NotFound(HuiliuError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Gone(HuiliuError):
    status = 410
    slug = "gone"
    title = "No longer available"


class Conflict(HuiliuError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class NotAuthenticated(HuiliuError):
    status = 401
    slug = "not-authenticated"
    title = "Authentication required"


class PermissionDenied(HuiliuError):
    status = 403
    slug = "permission-denied"
    title = "Permission denied"


class InvalidTransition(Conflict):
    slug = "invalid-transition"
    title = "This status change is not allowed"


class IdempotencyKeyReused(HuiliuError):
    status = 422
    slug = "idempotency-key-reused"
    title = "Idempotency-Key was already used with a different request"


class PayloadTooLarge(HuiliuError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(HuiliuError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class RateLimited(HuiliuError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"
