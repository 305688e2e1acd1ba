"""What may be uploaded: the allowlist of file kinds, the check that a file is what it claims to be,
and safe file names for storage and downloads. Pure."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import filetype

from huiliu.core.errors import UnsupportedMediaType, ValidationFailed

# filetype inspects at most this many leading bytes.
SNIFF_BYTES = 8192
MAX_FILENAME_LENGTH = 200

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
TEXT = "text/plain"
CSV = "text/csv"


@dataclass(frozen=True, slots=True)
class FileKind:
    content_type: str
    extensions: frozenset[str]
    # Content types clients send for this kind (browsers and operating systems differ).
    declared: frozenset[str]


def _kind(content_type: str, extensions: set[str], declared: set[str]) -> FileKind:
    return FileKind(content_type, frozenset(extensions), frozenset(declared | {content_type}))


ALLOWED: dict[str, FileKind] = {
    kind.content_type: kind
    for kind in (
        _kind("image/jpeg", {"jpg", "jpeg", "jpe", "jfif"}, {"image/jpg", "image/pjpeg"}),
        _kind("image/png", {"png"}, {"image/x-png"}),
        _kind("image/gif", {"gif"}, set()),
        _kind("image/webp", {"webp"}, set()),
        _kind("image/heic", {"heic", "heif"}, {"image/heif", "image/heic-sequence", "image/heif-sequence"}),
        _kind("application/pdf", {"pdf"}, {"application/x-pdf"}),
        _kind("video/mp4", {"mp4"}, set()),
        _kind("audio/mpeg", {"mp3"}, {"audio/mp3", "audio/mpeg3", "audio/x-mpeg"}),
        _kind("audio/mp4", {"m4a"}, {"audio/x-m4a", "audio/m4a"}),
        _kind("audio/amr", {"amr"}, {"audio/x-amr"}),
        _kind(DOCX, {"docx"}, set()),
        _kind(XLSX, {"xlsx"}, set()),
        _kind(PPTX, {"pptx"}, set()),
        _kind(TEXT, {"txt", "text", "log", "md"}, {"text/markdown"}),
        # Windows labels .csv files with Excel's legacy type.
        _kind(CSV, {"csv"}, {"text/plain", "application/csv", "application/vnd.ms-excel"}),
    )
}

# A declared type that says nothing about the content.
UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})

# Markup a browser might render if it ever ignored the download headers: not accepted as text.
MARKUP_MARKERS = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<iframe", b"<body", b"<head")


def extension(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and _ else ""


def normalize_declared(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def sniff(head: bytes) -> str | None:
    """The content type the leading bytes say, None when they match no known binary signature."""
    guess = filetype.guess(head[:SNIFF_BYTES])
    return guess.mime if guess is not None else None


def looks_like_markup(head: bytes) -> bool:
    lowered = head[:SNIFF_BYTES].lower()
    return any(marker in lowered for marker in MARKUP_MARKERS)


def classify(head: bytes, *, filename: str, declared_type: str | None, utf8_text: bool) -> str:
    """The content type to store for a file, after checking it is on the allowlist and that neither
    its declared type nor its extension disagrees with its bytes ("disguised" files are refused).

    ``head`` is the file's first bytes (at least ``SNIFF_BYTES`` when the file is that long);
    ``utf8_text`` says whether the whole file decoded as UTF-8 without NUL bytes."""
    ext = extension(filename)
    declared = normalize_declared(declared_type)
    sniffed = sniff(head)
    if sniffed is None:
        if not utf8_text:
            raise UnsupportedMediaType("this kind of file is not accepted")
        if looks_like_markup(head):
            raise UnsupportedMediaType("HTML, SVG and XML files are not accepted")
        sniffed = CSV if ext == "csv" else TEXT
    kind = ALLOWED.get(sniffed)
    if kind is None:
        raise UnsupportedMediaType(f"files of type {sniffed} are not accepted")
    if ext and ext not in kind.extensions:
        raise UnsupportedMediaType(f"the file's extension .{ext} does not match its content ({sniffed})")
    if declared not in UNDECLARED and declared not in kind.declared:
        raise UnsupportedMediaType(
            f"the declared type {declared} does not match the file's content ({sniffed})"
        )
    return sniffed


def clean_filename(raw: str | None) -> str:
    """A display name safe to store and send back: no directories, no control characters, NFC,
    at most ``MAX_FILENAME_LENGTH`` characters (the extension kept)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        raise ValidationFailed("the uploaded file has no name")
    if len(name) > MAX_FILENAME_LENGTH:
        ext = extension(name)
        keep = MAX_FILENAME_LENGTH - (len(ext) + 1 if ext else 0)
        name = name[:keep] + (f".{ext}" if ext else "")
    return name


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name as RFC 5987 ``filename*``."""
    fallback = (
        "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\;%' else "_" for ch in filename).strip()
        or "download"
    )
    encoded = quote(filename, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
