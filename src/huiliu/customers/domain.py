"""The identity graph's rules: which identity kinds exist, how values are normalised and validated,
which keys are strong enough to merge two customers, and how one inbound set of identities resolves
to a customer. Pure: no I/O."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from huiliu.core.errors import ValidationFailed

PHONE = "phone"
EMAIL = "email"
WECHAT_OPENID = "wechat_openid"
WECHAT_UNIONID = "wechat_unionid"
WECOM_EXTERNAL_USERID = "wecom_external_userid"
DOUYIN_OPENID = "douyin_openid"
DEVICE_SN = "device_sn"
WEB_VISITOR = "web_visitor"
EXTERNAL = "external"

IDENTITY_KINDS: frozenset[str] = frozenset(
    {
        PHONE,
        EMAIL,
        WECHAT_OPENID,
        WECHAT_UNIONID,
        WECOM_EXTERNAL_USERID,
        DOUYIN_OPENID,
        DEVICE_SN,
        WEB_VISITOR,
        EXTERNAL,
    }
)

# Keys that prove two records are one person: a unionid is issued per person across all apps of one
# WeChat open-platform account, and an e-mail address is personal. A phone number counts only when
# the channel verified it (WeChat phone authorisation, an SMS code); a typed number does not.
ALWAYS_STRONG_KINDS: frozenset[str] = frozenset({WECHAT_UNIONID, EMAIL})

_PHONE_SEPARATORS = re.compile(r"[\s\-()（）.]")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9\u00a1-\uffff](?:[A-Za-z0-9\u00a1-\uffff\-]*)(?:\.[A-Za-z0-9\u00a1-\uffff\-]+)+$"
)
# Platform ids (openid, unionid, external_userid, device serials): letters, digits and the few
# punctuation marks platforms use. An openid may carry its app as ``appid:openid``.
_PLATFORM_ID = re.compile(r"^[A-Za-z0-9_\-.:@=+/]{4,128}$")
_DEVICE_SN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./:]{2,63}$")


def normalize_phone(raw: str) -> str:
    """Mainland numbers lose +86/0086 and separators; other numbers keep their digits and leading +."""
    phone = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw).strip())
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix) and _MAINLAND_MOBILE.match(phone[len(prefix) :]):
            phone = phone[len(prefix) :]
    if not re.fullmatch(r"\+?\d{5,20}", phone):
        raise ValidationFailed(f"not a phone number: {raw}")
    return phone


def normalize_email(raw: str) -> str:
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed(f"not an e-mail address: {raw}")
    return email


def normalize_identity(kind: str, value: str) -> str:
    """The canonical form of ``value`` as an identity of ``kind``; ValidationFailed when it is not one."""
    if kind not in IDENTITY_KINDS:
        raise ValidationFailed(f"unknown identity kind: {kind}")
    if kind == PHONE:
        return normalize_phone(value)
    if kind == EMAIL:
        return normalize_email(value)
    cleaned = value.strip()
    if not cleaned or len(cleaned) > 255:
        raise ValidationFailed(f"empty or too long {kind}")
    if kind == DEVICE_SN:
        cleaned = cleaned.upper()
        if not _DEVICE_SN.match(cleaned):
            raise ValidationFailed(f"not a device serial number: {value}")
    elif kind in {WECHAT_OPENID, WECHAT_UNIONID, WECOM_EXTERNAL_USERID, DOUYIN_OPENID} and not (
        _PLATFORM_ID.match(cleaned)
    ):
        raise ValidationFailed(f"not a valid {kind}: {value}")
    return cleaned


def mask_phone(phone: str) -> str:
    """138****1234 — how a phone number is shown to roles without the full-number permission."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else phone


# --- inbound identities -----------------------------------------------------------------------------


class HasIdentity(Protocol):
    """Anything shaped like an identity claim (e.g. intake's ``SenderIdentity``)."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def verified(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class IdentityClaim:
    """One identity an inbound request says the sender has, normalised; ``verified`` when the channel
    proved it (e.g. a phone number from WeChat's phone authorisation)."""

    kind: str
    value: str
    verified: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.value)

    @property
    def strong(self) -> bool:
        """Whether this claim may merge two customers that both match it."""
        return self.kind in ALWAYS_STRONG_KINDS or (self.kind == PHONE and self.verified)


IdentityInput = tuple[str, str] | tuple[str, str, bool] | HasIdentity | IdentityClaim


def identity_claims(identities: Iterable[IdentityInput]) -> list[IdentityClaim]:
    """Normalise and de-duplicate, keeping the first position of each identity; a claim repeated
    once verified and once not counts as verified."""
    found: dict[tuple[str, str], IdentityClaim] = {}
    for item in identities:
        if isinstance(item, tuple):
            kind, value = item[0], item[1]
            verified = bool(item[2]) if len(item) > 2 else False
        else:
            kind, value, verified = item.kind, item.value, bool(getattr(item, "verified", False))
        claim = IdentityClaim(kind, normalize_identity(kind, value), verified)
        previous = found.get(claim.key)
        if previous is None or (claim.verified and not previous.verified):
            found[claim.key] = claim
    return list(found.values())


@dataclass(frozen=True, slots=True)
class Owner:
    """The live customer an existing identity belongs to (after following merges)."""

    customer_id: uuid.UUID
    created_at: datetime


@dataclass(frozen=True)
class ResolutionPlan:
    """What one resolution does. ``target`` None means a new customer carrying every claim."""

    target: uuid.UUID | None
    # Customers to merge into ``target`` (they matched a strong key that another customer matched too).
    merges: tuple[uuid.UUID, ...] = ()
    # The strong keys that tied the merged customers together, for the merge record.
    merge_keys: tuple[tuple[str, str], ...] = ()
    # Claims nobody owns yet: attached to the target.
    attach: tuple[IdentityClaim, ...] = ()
    # Claims the target already owns (or will after the merges) that arrive verified.
    verify: tuple[IdentityClaim, ...] = ()
    # Weak claims owned by another customer: left where they are, never merged on.
    left_alone: tuple[IdentityClaim, ...] = field(default_factory=tuple)


def plan_resolution(claims: list[IdentityClaim], owners: dict[tuple[str, str], Owner]) -> ResolutionPlan:
    """Decide which customer ``claims`` belong to.

    - Two or more customers matched by strong claims are one person: the oldest survives, the others
      are merged into it.
    - Otherwise the customer matched by a strong claim, or else by the first claim that matches at
      all, is the target; weak claims never merge customers: one owned by another customer stays
      with that customer.
    - Claims nobody owns are attached to the target; with no match at all a new customer is made."""
    strong_owners: dict[uuid.UUID, Owner] = {}
    merge_keys: list[tuple[str, str]] = []
    for claim in claims:
        owner = owners.get(claim.key)
        if owner is not None and claim.strong:
            strong_owners.setdefault(owner.customer_id, owner)
            merge_keys.append(claim.key)
    target: uuid.UUID | None
    merges: tuple[uuid.UUID, ...] = ()
    if strong_owners:
        ranked = sorted(strong_owners.values(), key=lambda o: (o.created_at, o.customer_id))
        target = ranked[0].customer_id
        merges = tuple(o.customer_id for o in ranked[1:])
    else:
        target = next((owners[c.key].customer_id for c in claims if c.key in owners), None)
    if target is None:
        return ResolutionPlan(target=None, attach=tuple(claims))
    absorbed = {target, *merges}
    attach = tuple(c for c in claims if c.key not in owners)
    verify = tuple(
        c for c in claims if c.verified and c.key in owners and owners[c.key].customer_id in absorbed
    )
    left_alone = tuple(c for c in claims if c.key in owners and owners[c.key].customer_id not in absorbed)
    return ResolutionPlan(
        target=target,
        merges=merges,
        merge_keys=tuple(merge_keys) if merges else (),
        attach=attach,
        verify=verify,
        left_alone=left_alone,
    )


# --- merges -----------------------------------------------------------------------------------------

MERGE_AUTO = "auto"
MERGE_MANUAL = "manual"


@dataclass(frozen=True)
class ProfileFill:
    """Profile values a merge copies from the merged customer into gaps of the survivor, so an undo
    can take back exactly those (and only while nobody changed them since)."""

    name: str | None = None
    level: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.name is not None:
            found["name"] = self.name
        if self.level is not None:
            found["level"] = self.level
        if self.attributes:
            found["attributes"] = dict(self.attributes)
        return found


DEFAULT_LEVEL = "normal"


def profile_fill(
    survivor_name: str,
    survivor_level: str,
    survivor_attributes: dict[str, Any],
    merged_name: str,
    merged_level: str,
    merged_attributes: dict[str, Any],
) -> ProfileFill:
    """What the survivor takes from the merged customer: a name when it has none, a level when it
    has the default one, and attribute keys it lacks. The survivor's own values always win."""
    return ProfileFill(
        name=merged_name if not survivor_name and merged_name else None,
        level=merged_level
        if survivor_level == DEFAULT_LEVEL and merged_level and merged_level != DEFAULT_LEVEL
        else None,
        attributes={k: v for k, v in merged_attributes.items() if k not in survivor_attributes},
    )


def profile_unfill(
    name: str, level: str, attributes: dict[str, Any], filled: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """The survivor's profile with what a merge filled in taken back, where it is still unchanged."""
    if "name" in filled and name == filled["name"]:
        name = ""
    if "level" in filled and level == filled["level"]:
        level = DEFAULT_LEVEL
    remaining = dict(attributes)
    for key, value in (filled.get("attributes") or {}).items():
        if key in remaining and remaining[key] == value:
            del remaining[key]
    return name, level, remaining
