from __future__ import annotations

import pytest

from huiliu.attachments import domain
from huiliu.core.errors import UnsupportedMediaType, ValidationFailed
from tests.attachments import samples


@pytest.mark.parametrize(
    ("content", "filename", "declared", "expected"),
    [
        (samples.png(), "截图.png", "image/png", "image/png"),
        (samples.jpeg(), "photo.JPG", "image/jpeg", "image/jpeg"),
        (samples.gif(), "a.gif", None, "image/gif"),
        (samples.pdf(), "发票.pdf", "application/pdf", "application/pdf"),
        (samples.mp3(), "voice.mp3", "audio/mpeg", "audio/mpeg"),
        (samples.m4a(), "memo.m4a", "audio/x-m4a", "audio/mp4"),
        (samples.mp4(), "clip.mp4", "video/mp4", "video/mp4"),
        (samples.amr(), "wechat.amr", "application/octet-stream", "audio/amr"),
        (samples.office("docx"), "报告.docx", domain.DOCX, domain.DOCX),
        (samples.office("xlsx"), "data.xlsx", domain.XLSX, domain.XLSX),
        (samples.office("pptx"), "deck.pptx", domain.PPTX, domain.PPTX),
        (samples.csv_text(), "orders.csv", "application/vnd.ms-excel", "text/csv"),
        ("门店3号打印机".encode(), "notes.txt", "text/plain; charset=utf-8", "text/plain"),
        (b"no extension at all", "README", None, "text/plain"),
    ],
)
def test_allowed_files_are_classified_by_their_bytes(
    content: bytes, filename: str, declared: str | None, expected: str
) -> None:
    utf8 = domain.sniff(content) is None
    assert domain.classify(content, filename=filename, declared_type=declared, utf8_text=utf8) == expected


@pytest.mark.parametrize(
    ("content", "filename", "declared", "utf8"),
    [
        (samples.exe(), "photo.jpg", "image/jpeg", False),  # an executable disguised as a photo
        (samples.exe(), "setup.exe", "application/octet-stream", False),  # not on the allowlist
        (samples.html(), "photo.png", "image/png", True),  # HTML labelled as an image
        (samples.html(), "page.txt", "text/plain", True),  # markup is not accepted as text
        (samples.png(), "report.pdf", None, False),  # extension disagrees with the bytes
        (samples.png(), "image.png", "application/pdf", False),  # declared type disagrees
        (samples.plain_zip(), "archive.zip", "application/zip", False),  # a zip that is no office file
        (samples.pdf(), "invoice.docx", None, False),
        (b"\x00\x01\x02binary", "data.bin", None, False),  # unknown binary
        (b"text", "photo.jpg", "image/jpeg", True),  # text named as a photo
    ],
)
def test_disguised_or_unlisted_files_are_refused(
    content: bytes, filename: str, declared: str | None, utf8: bool
) -> None:
    with pytest.raises(UnsupportedMediaType):
        domain.classify(content, filename=filename, declared_type=declared, utf8_text=utf8)


def test_filenames_lose_directories_and_control_characters() -> None:
    assert domain.clean_filename("C:\\Users\\王\\桌面\\报修单.pdf") == "报修单.pdf"
    assert domain.clean_filename("../../etc/passwd") == "passwd"
    assert domain.clean_filename("a\x00b\r\n.txt") == "ab.txt"
    long = domain.clean_filename("长" * 300 + ".xlsx")
    assert len(long) == domain.MAX_FILENAME_LENGTH and long.endswith(".xlsx")
    with pytest.raises(ValidationFailed):
        domain.clean_filename("../")


def test_content_disposition_carries_the_exact_name_as_rfc5987() -> None:
    header = domain.content_disposition('报修 "照片".jpg')
    assert header.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E6%8A%A5%E4%BF%AE%20%22%E7%85%A7%E7%89%87%22.jpg" in header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and fallback.endswith(".jpg")
