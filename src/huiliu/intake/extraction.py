"""Entity extraction from what customers write: order numbers, phones, landlines, e-mail addresses,
express tracking numbers, amounts and device serial numbers. Pure: no I/O, milliseconds per message.

``extract_entities(text)`` returns non-overlapping entities in text order. Offsets (``start``/``end``)
index the *original* text and ``value`` is the text as written; ``normalized`` is the canonical form
(full-width characters folded with NFKC, separators removed, upper/lower case fixed).

Heuristics (tests/intake/test_extraction.py has a table of examples, negatives included):

- Pure digit strings are only order or tracking numbers when a context word makes it unambiguous.
  The decisive word is the *nearest* one in the same clause (clauses end at 。！？；, and commas):
  订单/订单号/单号/order → order; 快递/运单/物流/tracking and carrier names (顺丰, 中通 …) →
  tracking; 电话/手机/收货人/身份证/银行卡/卡号/账号/验证码/序列号 … → neither. The word may stand
  up to 12 characters before the number or up to 8 after it (``…是我的订单``). Numbers that follow an
  already classified one separated only by 、 , / 和 及 inherit its classification (lists).
  With context, 10–20 digits are accepted. Bank-card and ID-card numbers therefore never become orders.
- Formats distinctive enough to need no context: Pinduoduo ``YYMMDD-`` + 15 digits; carrier-prefixed
  tracking numbers (SF, YT, ZT, JD/JDV/JDX…, JT, DPK) and UPU S10 numbers ending in CN with a valid
  check digit (EMS / China Post); ERP-style ids whose prefix is a common order prefix (SO, ORD, DD,
  XS, XSD, PO) followed by ≥ 8 digits. Other letter-prefixed ids (``AB-2026-0001``) need order context.
  Carrier-prefixed formats are tracking numbers even after 订单号, because the carriers own them.
- ``qualifier`` carries what the format or context says beyond the kind: the platform for order
  numbers (taobao, tmall, jd, pinduoduo, douyin, kuaishou, erp; None when 19 digits could be Taobao or
  Douyin), the carrier code for tracking numbers (SF, YTO, ZTO, STO, YUNDA, JD, EMS, CHINAPOST, JT,
  DEPPON, BEST; None when unknown), ``mobile``/``service`` is not needed and stays None elsewhere.
- Mainland mobiles ``1[3-9]`` + 9 digits, optionally ``+86``/``0086``/``(+86)``, grouped 3-4-4 with
  spaces or dashes; normalized to 11 digits. An order/tracking context right before the digits wins
  (``订单号13800138000`` is an order number: JD used 11-digit ids).
- Landlines need a valid area code (010, 02x, 03xx–09xx), in parentheses or not, a 7–8 digit local
  number, optional extension (``-123``, ``转123``, ``分机123``, ``ext 123``); normalized
  ``0755-88886666`` or ``010-12345678-123``. 400/800 service numbers count as landlines, normalized
  to their 10 digits.
- Amounts need a currency marker: ``¥``/``￥``/``RMB``/``CNY``/``人民币`` before, or ``元``/``块钱``
  after (``块`` alone only at the end of a clause: ``3块蛋糕`` is three pieces); ``万``/``千``/``亿``
  multiply. Chinese numerals are read in full forms only (三百元, 两千五百块钱, 一万二千元); the
  colloquial elliptical ``一万二`` / ``三百五`` is skipped rather than guessed. Normalized as a decimal
  string in yuan with two places (``1299.00``), more places kept when written.
- Device serial numbers follow SN / S/N / SN号 / 序列号 / 机身号 / 设备号 / 设备编号 / 串号 / IMEI and
  contain at least one digit; normalized to upper case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

ORDER_NUMBER = "order_number"
PHONE = "phone"
LANDLINE = "landline"
EMAIL = "email"
TRACKING_NUMBER = "tracking_number"
AMOUNT = "amount"
DEVICE_SN = "device_sn"

KINDS = (ORDER_NUMBER, PHONE, LANDLINE, EMAIL, TRACKING_NUMBER, AMOUNT, DEVICE_SN)


@dataclass(frozen=True)
class Entity:
    kind: str
    value: str  # as written, ``text[start:end]``
    normalized: str
    start: int
    end: int
    # Platform of an order number or carrier of a tracking number, when known.
    qualifier: str | None = None


def extract_entities(text: str) -> list[Entity]:
    """Every entity in ``text``, non-overlapping, in text order."""
    if not text:
        return []
    norm, index = _normalize(text)
    candidates = [
        *_device_serials(norm),
        *_emails(norm),
        *_amounts(norm),
        *_distinctive_ids(norm),
        *_contextual_ids(norm),
        *_phones(norm),
        *_landlines(norm),
    ]
    chosen: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (-c.priority, c.start - c.end, c.start)):
        if all(candidate.end <= other.start or candidate.start >= other.end for other in chosen):
            chosen.append(candidate)
    entities = []
    for c in sorted(chosen, key=lambda c: c.start):
        start, end = index[c.start], index[c.end - 1] + 1
        entities.append(Entity(c.kind, text[start:end], c.normalized, start, end, c.qualifier))
    return entities


def order_numbers(entities: list[Entity]) -> list[str]:
    """The distinct normalized order numbers among ``entities``, in order of appearance."""
    return list(dict.fromkeys(e.normalized for e in entities if e.kind == ORDER_NUMBER))


# --- normalization -----------------------------------------------------------------------------------

# A full-width comma separates clauses in Chinese; NFKC would turn it into a thousands separator.
_KEEP_AS_IS = frozenset("，")


def _normalize(text: str) -> tuple[str, list[int]]:
    """NFKC per character, with a map from each normalized position to its original position."""
    chars: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        folded = char if char in _KEEP_AS_IS else unicodedata.normalize("NFKC", char)
        for out in folded:
            chars.append(out)
            index.append(position)
    return "".join(chars), index


@dataclass(frozen=True)
class _Candidate:
    kind: str
    start: int
    end: int
    normalized: str
    priority: int
    qualifier: str | None = None


# Higher wins an overlap; equal priorities prefer the longer span.
_P_DEVICE_SN = 100
_P_EMAIL = 90
_P_AMOUNT_MARKED = 80
_P_DISTINCTIVE = 70
_P_CONTEXT = 60
_P_PHONE = 50
_P_AMOUNT_CN = 45

_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_ALNUM_AFTER = r"(?![0-9A-Za-z])"
_CJK = "\u4e00-\u9fff"

# --- device serial numbers --------------------------------------------------------------------------

_SN = re.compile(
    r"(?:(?<![A-Za-z])(?:S/N|SN)(?:\s*[号码]|(?=[\s:#=是为]))|序列号|机身号|设备编号|设备号|串号"
    r"|(?<![A-Za-z])IMEI(?![A-Za-z]))"
    r"\s*(?:[:#=]|是|为)?\s*"
    r"(?P<value>[A-Za-z0-9](?:[A-Za-z0-9-]{2,38}[A-Za-z0-9]))" + _ALNUM_AFTER,
    re.IGNORECASE,
)


def _device_serials(norm: str) -> Iterator[_Candidate]:
    for match in _SN.finditer(norm):
        value = match.group("value")
        if not any(ch.isdigit() for ch in value):
            continue
        yield _Candidate(DEVICE_SN, match.start("value"), match.end("value"), value.upper(), _P_DEVICE_SN)


# --- e-mail -------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9-])"
)


def _emails(norm: str) -> Iterator[_Candidate]:
    for match in _EMAIL.finditer(norm):
        yield _Candidate(EMAIL, match.start(), match.end(), match.group().lower(), _P_EMAIL)


# --- amounts ------------------------------------------------------------------------------------------

_NUMBER = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
# 元 starts words that are not money: 元素 element, 元件/元器件 component, 元宵, 元旦, 元年, 元月.
_YUAN = r"(?:元(?![素件器宵旦年月])|块钱|块(?![0-9" + _CJK + r"]))"
_MULTIPLIERS = {"千": Decimal(1000), "万": Decimal(10_000), "亿": Decimal(100_000_000)}

_AMOUNT_MARKED = re.compile(
    r"(?:¥|(?<![A-Za-z])(?:RMB|CNY)|人民币)\s?(?P<number>" + _NUMBER + r")(?![0-9])"
    r"(?:\s?(?P<mult>[千万亿]))?(?:\s?" + _YUAN + r")?",
    re.IGNORECASE,
)
_AMOUNT_SUFFIXED = re.compile(
    r"(?<![0-9A-Za-z.,])(?P<number>" + _NUMBER + r")\s?(?P<mult>[千万亿])?" + _YUAN,
)
_CN_DIGITS = {char: value for value, char in enumerate("零一二三四五六七八九")} | {"两": 2}
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_AMOUNT_CHINESE = re.compile(
    r"(?<![零一二两三四五六七八九十百千万亿几多数第])"
    r"(?P<number>[一二两三四五六七八九十][零一二两三四五六七八九十百千万亿]*)" + _YUAN
)


def _amounts(norm: str) -> Iterator[_Candidate]:
    for match in _AMOUNT_MARKED.finditer(norm):
        amount = _decimal(match.group("number"), match.group("mult"))
        if amount is not None:
            yield _Candidate(AMOUNT, match.start(), match.end(), _format_yuan(amount), _P_AMOUNT_MARKED)
    for match in _AMOUNT_SUFFIXED.finditer(norm):
        amount = _decimal(match.group("number"), match.group("mult"))
        if amount is not None:
            yield _Candidate(AMOUNT, match.start(), match.end(), _format_yuan(amount), _P_AMOUNT_MARKED)
    for match in _AMOUNT_CHINESE.finditer(norm):
        value = _parse_chinese_integer(match.group("number"))
        if value is not None:
            yield _Candidate(AMOUNT, match.start(), match.end(), _format_yuan(Decimal(value)), _P_AMOUNT_CN)


def _decimal(number: str, multiplier: str | None) -> Decimal | None:
    try:
        amount = Decimal(number.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid numbers
        return None
    return amount * _MULTIPLIERS[multiplier] if multiplier else amount


def _format_yuan(amount: Decimal) -> str:
    reduced = amount.normalize()
    exponent = reduced.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return format(reduced, "f")
    return format(amount.quantize(Decimal("0.01")), "f")


def _parse_chinese_integer(numeral: str) -> int | None:
    """Full-form Chinese integers (两千五百, 一万零五十); None for elliptical or malformed ones."""
    total = section = 0
    digit: int | None = None
    for position, char in enumerate(numeral):
        if char in _CN_DIGITS:
            if digit:  # 一二三: digits without units (零 may precede a digit: 一百零五)
                return None
            digit = _CN_DIGITS[char]
        elif char in _CN_SMALL_UNITS:
            if digit is None and char == "十" and position == 0:
                digit = 1  # 十五
            if not digit:
                return None
            section += digit * _CN_SMALL_UNITS[char]
            digit = None
        else:
            section += digit or 0
            if section == 0:
                return None
            total += section * _CN_BIG_UNITS[char]
            section, digit = 0, None
    if digit is not None:
        if len(numeral) > 1 and numeral[-2] not in ("十", "零"):
            return None  # 三百五 / 一万二: colloquial ellipsis, its meaning depends on the listener
        section += digit
    return total + section


# --- context words ------------------------------------------------------------------------------------

_ORDER = "order"
_TRACKING = "tracking"
_OTHER = "other"
_PLATFORM = "platform"

_CARRIERS = {
    "顺丰": "SF",
    "圆通": "YTO",
    "中通": "ZTO",
    "申通": "STO",
    "韵达": "YUNDA",
    "极兔": "JT",
    "德邦": "DEPPON",
    "百世": "BEST",
    "邮政": "CHINAPOST",
    "EMS": "EMS",
    "京东快递": "JD",
    "京东物流": "JD",
}
_PLATFORMS = {
    "淘宝": "taobao",
    "天猫": "tmall",
    "京东": "jd",
    "拼多多": "pinduoduo",
    "抖音": "douyin",
    "抖店": "douyin",
    "快手": "kuaishou",
}
_CONTEXT_WORDS: dict[str, tuple[str, str | None]] = {
    **{word: (_ORDER, None) for word in ("订单号码", "订单编号", "订单号", "订单", "单号")},
    **{
        word: (_TRACKING, None)
        for word in ("快递单号", "快递号", "运单号", "运单", "物流单号", "物流号", "快递", "物流", "面单")
    },
    **{name: (_TRACKING, code) for name, code in _CARRIERS.items()},
    **{f"{name}单号": (_TRACKING, code) for name, code in _CARRIERS.items()},
    **{f"{name}快递": (_TRACKING, code) for name, code in _CARRIERS.items()},
    **{name: (_PLATFORM, code) for name, code in _PLATFORMS.items()},
    **{
        word: (_OTHER, None)
        for word in (
            "电话", "手机", "手机号", "联系方式", "联系人", "收件人", "收货人", "座机", "身份证", "银行卡",
            "卡号", "账号", "帐号", "账户", "会员号", "会员卡", "工号", "验证码", "发票", "税号", "序列号",
            "机身号", "设备号", "串号", "微信号", "QQ", "密码", "快递员",
        )
    },
}  # fmt: skip
_ENGLISH_WORDS: list[tuple[str, str]] = [
    (r"order\s*(?:no\.?|number|id|#)?", _ORDER),
    (r"tracking\s*(?:no\.?|number|#)?|waybill", _TRACKING),
    (r"tel|phone|mobile|imei|s/?n", _OTHER),
]
_CONTEXT = re.compile(
    "|".join(
        [re.escape(word) for word in sorted(_CONTEXT_WORDS, key=len, reverse=True)]
        + [rf"(?<![A-Za-z])(?:{pattern})(?![A-Za-z])" for pattern, _ in _ENGLISH_WORDS]
    ),
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[。！？!?；;\n,，]")
_BEFORE_WINDOW = 12
_AFTER_WINDOW = 8
_LIST_GAP = re.compile(r"[\s、,，/和及与跟]*")


def _classify(word: str) -> tuple[str, str | None]:
    found = _CONTEXT_WORDS.get(word) or _CONTEXT_WORDS.get(word.upper())
    if found:
        return found
    for pattern, category in _ENGLISH_WORDS:
        if re.fullmatch(pattern, word, re.IGNORECASE):
            return category, None
    return _OTHER, None  # pragma: no cover - every alternative of _CONTEXT is classified above


@dataclass(frozen=True)
class _Context:
    category: str | None  # _ORDER, _TRACKING, _OTHER or None when no decisive word
    carrier: str | None
    platform: str | None


def _context(norm: str, start: int, end: int) -> _Context:
    """What the words of the clause around ``norm[start:end]`` say about it."""
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(norm, 0, start)), default=0)
    after = _CLAUSE_END.search(norm, end)
    clause_end = after.start() if after else len(norm)
    before = [(m, *_classify(m.group())) for m in _CONTEXT.finditer(norm, clause_start, start)]
    following = [(m, *_classify(m.group())) for m in _CONTEXT.finditer(norm, end, clause_end)]
    platform = next((q for _, c, q in reversed(before + following) if c == _PLATFORM), None)
    carrier = next((q for _, c, q in reversed(before) if c == _TRACKING and q), None) or next(
        (q for _, c, q in following if c == _TRACKING and q), None
    )
    decisive_before = [(m, c) for m, c, _ in before if c != _PLATFORM]
    if decisive_before:
        match, category = decisive_before[-1]
        if match.group() == "单号" and len(decisive_before) > 1:
            # 中通快递单号, 物流单号: a bare 单号 right after a tracking word is a tracking number.
            previous_match, previous_category = decisive_before[-2]
            if previous_match.end() == match.start() and previous_category == _TRACKING:
                category = _TRACKING
        if start - match.end() <= _BEFORE_WINDOW:
            return _Context(category, carrier, platform)
        return _Context(None, carrier, platform)
    decisive_after = [(m, c) for m, c, _ in following if c != _PLATFORM]
    if decisive_after and decisive_after[0][0].start() - end <= _AFTER_WINDOW:
        return _Context(decisive_after[0][1], carrier, platform)
    return _Context(None, carrier, platform)


# --- order and tracking numbers -----------------------------------------------------------------------

_PINDUODUO = re.compile(_ALNUM_BEFORE + r"(?P<date>[0-9]{6})-(?P<serial>[0-9]{15})" + _ALNUM_AFTER)
_CARRIER_PREFIXED = [
    (re.compile(_ALNUM_BEFORE + r"SF[0-9]{12,15}" + _ALNUM_AFTER, re.IGNORECASE), "SF"),
    (re.compile(_ALNUM_BEFORE + r"YT[0-9]{13,15}" + _ALNUM_AFTER, re.IGNORECASE), "YTO"),
    (re.compile(_ALNUM_BEFORE + r"ZT[0-9]{12,15}" + _ALNUM_AFTER, re.IGNORECASE), "ZTO"),
    (re.compile(_ALNUM_BEFORE + r"JD[A-Z]{0,2}[0-9]{11,15}" + _ALNUM_AFTER, re.IGNORECASE), "JD"),
    (re.compile(_ALNUM_BEFORE + r"JT[0-9]{13}" + _ALNUM_AFTER, re.IGNORECASE), "JT"),
    (re.compile(_ALNUM_BEFORE + r"DPK[0-9]{12}" + _ALNUM_AFTER, re.IGNORECASE), "DEPPON"),
]
# UPU S10: two letters, eight digits, a check digit, the country code (CN for EMS / China Post).
_S10 = re.compile(
    _ALNUM_BEFORE + r"(?P<service>[A-Z]{2})(?P<serial>[0-9]{8})(?P<check>[0-9])CN" + _ALNUM_AFTER,
    re.IGNORECASE,
)
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_ERP_PREFIXES = ("SO", "ORD", "DD", "XS", "XSD", "PO")
_ERP_KNOWN = re.compile(
    _ALNUM_BEFORE + r"(?:" + "|".join(_ERP_PREFIXES) + r")-?[0-9]{8,24}" + _ALNUM_AFTER, re.IGNORECASE
)
_ERP_ANY = re.compile(
    _ALNUM_BEFORE + r"[A-Za-z]{1,6}[-_]?[0-9]{2,}(?:[-_][0-9]+)*" + _ALNUM_AFTER,
)
_DIGITS = re.compile(r"(?<![0-9A-Za-z_+-])[0-9]{10,20}(?![0-9A-Za-z_-])(?!\.[0-9])")


def _distinctive_ids(norm: str) -> Iterator[_Candidate]:
    for match in _PINDUODUO.finditer(norm):
        month, day = int(match.group("date")[2:4]), int(match.group("date")[4:6])
        if 1 <= month <= 12 and 1 <= day <= 31:
            yield _Candidate(
                ORDER_NUMBER, match.start(), match.end(), match.group(), _P_DISTINCTIVE, "pinduoduo"
            )
    for pattern, carrier in _CARRIER_PREFIXED:
        for match in pattern.finditer(norm):
            yield _Candidate(
                TRACKING_NUMBER, match.start(), match.end(), match.group().upper(), _P_DISTINCTIVE, carrier
            )
    for match in _S10.finditer(norm):
        if _s10_check_digit(match.group("serial")) == int(match.group("check")):
            carrier = "EMS" if match.group("service").upper().startswith("E") else "CHINAPOST"
            yield _Candidate(
                TRACKING_NUMBER, match.start(), match.end(), match.group().upper(), _P_DISTINCTIVE, carrier
            )
    for match in _ERP_KNOWN.finditer(norm):
        yield _Candidate(
            ORDER_NUMBER, match.start(), match.end(), match.group().upper(), _P_DISTINCTIVE, "erp"
        )


def _s10_check_digit(serial: str) -> int:
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def _contextual_ids(norm: str) -> Iterator[_Candidate]:
    """Digit strings and letter-prefixed ids that are orders or tracking numbers by context."""
    tokens = sorted(
        [(m.start(), m.end(), True) for m in _DIGITS.finditer(norm)]
        + [(m.start(), m.end(), False) for m in _ERP_ANY.finditer(norm) if _digit_count(m.group()) >= 6],
    )
    previous: _Candidate | None = None
    for start, end, digits_only in tokens:
        context = _context(norm, start, end)
        category = context.category
        if category is None and previous and _LIST_GAP.fullmatch(norm, previous.end, start):
            category = _ORDER if previous.kind == ORDER_NUMBER else _TRACKING
        text = norm[start:end]
        candidate: _Candidate | None = None
        if category == _ORDER:
            platform = "erp" if not digits_only else context.platform or _platform_by_format(text)
            candidate = _Candidate(ORDER_NUMBER, start, end, text.upper(), _P_CONTEXT, platform)
        elif category == _TRACKING:
            carrier = context.carrier or (_carrier_by_format(text) if digits_only else None)
            if carrier is None and previous and previous.kind == TRACKING_NUMBER:
                carrier = previous.qualifier if _LIST_GAP.fullmatch(norm, previous.end, start) else None
            candidate = _Candidate(TRACKING_NUMBER, start, end, text.upper(), _P_CONTEXT, carrier)
        if candidate:
            previous = candidate
            yield candidate


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _platform_by_format(digits: str) -> str | None:
    if 10 <= len(digits) <= 12:
        return "jd"
    if len(digits) == 18:
        return "taobao"
    return None  # 19 digits: Taobao/Tmall and Douyin both use them


def _carrier_by_format(digits: str) -> str | None:
    """Guesses from published numbering ranges; None when several carriers share the shape."""
    if len(digits) == 15 and digits.startswith("77"):
        return "STO"
    if len(digits) in (12, 13) and digits.startswith("88"):
        return "STO"
    if 12 <= len(digits) <= 15 and digits.startswith("7"):
        return "ZTO"
    if len(digits) == 15 and digits[:2] in ("43", "46"):
        return "YUNDA"
    return None


# --- phones -------------------------------------------------------------------------------------------

_MOBILE = re.compile(
    r"(?<![0-9A-Za-z+])(?:(?:\(\s?(?:\+|00)86\s?\)|(?:\+|00)86)[ -]?)?"
    r"(?P<a>1[3-9][0-9])[ -]?(?P<b>[0-9]{4})[ -]?(?P<c>[0-9]{4})" + _ALNUM_AFTER
)
_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"
_LANDLINE = re.compile(
    _ALNUM_BEFORE + r"(?:\(\s?(?P<area1>" + _AREA + r")\s?\)\s?|(?P<area2>" + _AREA + r")[ -]?)"
    r"(?P<local1>[1-9][0-9]{2,3})[ -]?(?P<local2>[0-9]{4})(?![0-9])"
    r"(?:\s?(?:-|转|分机|ext\.?|x|#)\s?(?P<ext>[0-9]{1,6}))?" + _ALNUM_AFTER,
    re.IGNORECASE,
)
_SERVICE_NUMBER = re.compile(
    _ALNUM_BEFORE + r"(?P<a>[48]00)[ -]?(?P<b>[0-9]{3})[ -]?(?P<c>[0-9]{4})" + _ALNUM_AFTER
)


def _phones(norm: str) -> Iterator[_Candidate]:
    for match in _MOBILE.finditer(norm):
        digits = match.group("a") + match.group("b") + match.group("c")
        yield _Candidate(PHONE, match.start(), match.end(), digits, _P_PHONE)


def _landlines(norm: str) -> Iterator[_Candidate]:
    for match in _LANDLINE.finditer(norm):
        normalized = (
            f"{match.group('area1') or match.group('area2')}-{match.group('local1')}{match.group('local2')}"
        )
        if match.group("ext"):
            normalized += f"-{match.group('ext')}"
        yield _Candidate(LANDLINE, match.start(), match.end(), normalized, _P_PHONE)
    for match in _SERVICE_NUMBER.finditer(norm):
        digits = match.group("a") + match.group("b") + match.group("c")
        yield _Candidate(LANDLINE, match.start(), match.end(), digits, _P_PHONE)
