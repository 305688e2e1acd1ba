"""Content-addressed file storage on the local disk:
``<files_dir>/<tenant id>/<sha256[:2]>/<sha256>``.

An upload is first streamed into a staging file next to its final place (same file system), counted,
hashed and checked as it arrives; only when every check has passed is it renamed into place, which is
atomic. The same bytes uploaded twice in one tenant are stored once. Disk I/O runs in worker threads
so the event loop never blocks."""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio.to_thread

from huiliu.attachments.domain import SNIFF_BYTES
from huiliu.core.errors import NotFound, PayloadTooLarge

# Bytes gathered before one write to disk: few thread hops without holding much in memory.
WRITE_BATCH = 1024 * 1024
STAGING = "tmp"


@dataclass(frozen=True)
class StagedFile:
    """An upload that arrived completely and lies in a staging file, not yet in storage."""

    path: Path
    size: int
    sha256: str
    head: bytes
    utf8_text: bool


class StagingWriter:
    """Receives an upload chunk by chunk: writes it to a staging file, counts it (raising
    ``PayloadTooLarge`` past ``limit`` and removing what was written), hashes it, keeps its first bytes
    for type sniffing and follows whether it is UTF-8 text."""

    def __init__(self, directory: Path, limit: int) -> None:
        self._directory = directory
        self._limit = limit
        self._path = directory / f"{uuid.uuid4().hex}.part"
        self._file: IO[bytes] | None = None
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._utf8 = True
        self.size = 0

    async def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self.size > self._limit:
            self.discard()
            raise PayloadTooLarge(f"the file is larger than {self._limit} bytes", limit=self._limit)
        self._hash.update(chunk)
        if len(self._head) < SNIFF_BYTES:
            self._head.extend(chunk[: SNIFF_BYTES - len(self._head)])
        if self._utf8:
            try:
                self._decoder.decode(chunk)
                self._utf8 = b"\x00" not in chunk
            except UnicodeDecodeError:
                self._utf8 = False
        self._buffer.extend(chunk)
        if len(self._buffer) >= WRITE_BATCH:
            await self._flush()

    async def _flush(self) -> None:
        data, self._buffer = bytes(self._buffer), bytearray()
        await anyio.to_thread.run_sync(self._write_sync, data)

    def _write_sync(self, data: bytes) -> None:
        if self._file is None:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._file = open(self._path, "xb")  # noqa: SIM115 (closed in finish or discard)
        self._file.write(data)

    async def finish(self) -> StagedFile:
        """Flush, fsync and close the staging file; the upload is then complete on disk."""
        if self._utf8:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._utf8 = False
        await self._flush()
        await anyio.to_thread.run_sync(self._close_sync)
        return StagedFile(self._path, self.size, self._hash.hexdigest(), bytes(self._head), self._utf8)

    def _close_sync(self) -> None:
        if self._file is None:
            self._write_sync(b"")
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        """Remove whatever was written: a refused upload leaves nothing behind. Synchronous (one close
        and one unlink) so that it also runs while the request is being cancelled."""
        self._buffer = bytearray()
        if self._file is not None and not self._file.closed:
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def writer(self, tenant_id: uuid.UUID, limit: int) -> StagingWriter:
        return StagingWriter(self.root / str(tenant_id) / STAGING, limit)

    @staticmethod
    def relative_path(tenant_id: uuid.UUID, sha256: str) -> str:
        return f"{tenant_id}/{sha256[:2]}/{sha256}"

    async def store(self, tenant_id: uuid.UUID, staged: StagedFile) -> str:
        """Move a staged file to its content address (atomically) and return its storage path."""
        relative = self.relative_path(tenant_id, staged.sha256)
        await anyio.to_thread.run_sync(self._store_sync, staged.path, self.root / relative)
        return relative

    @staticmethod
    def _store_sync(staged: Path, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        # Replacing an existing copy is harmless: same address, same bytes.
        os.replace(staged, final)

    @staticmethod
    def discard(staged: StagedFile) -> None:
        """Drop a staged upload that was refused (a no-op once it has been stored)."""
        with contextlib.suppress(FileNotFoundError):
            staged.path.unlink()

    def path_of(self, storage_path: str) -> Path:
        """The file behind a stored path; it never resolves outside the storage root."""
        root = self.root.resolve()
        path = (root / storage_path).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFound("attachment content not found")
        return path
