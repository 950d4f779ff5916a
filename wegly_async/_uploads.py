"""Files to upload: checked up front, opened afresh for every attempt, never read whole."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import mimetypes
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from typing import IO, TypeAlias

import attrs

from ._validation import check_header_text

__all__ = ["FileInput", "Upload", "UploadSource", "make_upload", "part_filename"]

FileInput: TypeAlias = (
    "str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | AsyncIterable[bytes]"
)
"""What a send accepts as a file: a path, bytes, a binary file object or an async byte stream."""

UploadSource: TypeAlias = "bytes | IO[bytes] | AsyncIterable[bytes]"

CHUNK_SIZE = 64 * 1024
DEFAULT_FILENAME = "file"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

ONE_SHOT_NOTE = (
    "not retried: the file is a one-shot stream that cannot be replayed "
    "(pass a path, bytes or a seekable file to allow retries)"
)


@attrs.frozen
class Upload:
    """A file part ready to be sent, able to reopen its source for each attempt when replayable."""

    filename: str
    content_type: str
    replayable: bool
    _opener: Callable[[], contextlib.AbstractContextManager[UploadSource]] = attrs.field(
        alias="opener", repr=False
    )

    def open(self) -> contextlib.AbstractContextManager[UploadSource]:
        """Return a context manager giving a fresh source for one attempt and releasing it after."""
        return self._opener()


def make_upload(file: object, *, filename: str | None, mime_type: str | None) -> Upload:
    """Return an Upload for ``file``, raising before any I/O when it cannot be sent."""
    if filename is not None:
        check_header_text(filename, "filename")
    if mime_type is not None:
        check_header_text(mime_type, "mime_type")
        if mime_type.count("/") != 1 or " " in mime_type.split(";")[0]:
            raise ValueError(f"mime_type must look like 'image/png', got {mime_type!r}")
    opener, replayable, own_name = _source(file)
    name = filename or own_name or _default_filename(mime_type)
    content_type = mime_type or mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE
    return Upload(filename=name, content_type=content_type, replayable=replayable, opener=opener)


# What browsers escape in a part header's filename (the HTML standard's multipart encoding).
_FILENAME_ESCAPES = str.maketrans({'"': "%22", "\r": "%0D", "\n": "%0A"})


def part_filename(filename: str) -> str:
    """Return ``filename`` as it goes in a part header: ``"``, CR and LF percent-encoded.

    A backslash-escaped quote is valid MIME but many servers end the value there and
    drop the malformed part, file and all.
    """
    return filename.translate(_FILENAME_ESCAPES)


def _default_filename(mime_type: str | None) -> str:
    extension = mimetypes.guess_extension(mime_type.split(";")[0]) if mime_type else None
    return DEFAULT_FILENAME + (extension or "")


_Opener = Callable[[], contextlib.AbstractContextManager[UploadSource]]


def _source(file: object) -> tuple[_Opener, bool, str | None]:
    if isinstance(file, str | os.PathLike):
        return _path_source(file)
    if isinstance(file, bytes | bytearray | memoryview):
        data = bytes(file)
        return (lambda: contextlib.nullcontext(data)), True, None
    if isinstance(file, io.TextIOBase):
        raise TypeError("file must be opened in binary mode ('rb'), not text mode")
    if hasattr(file, "read"):
        return _file_object_source(file)  # type: ignore[arg-type]
    if isinstance(file, AsyncIterable):
        stream = file
        return (lambda: contextlib.nullcontext(stream)), False, None
    raise TypeError(
        "file must be a path, bytes, a binary file object or an async iterable of bytes, "
        f"got {type(file).__name__}"
    )


def _path_source(file: str | os.PathLike[str]) -> tuple[_Opener, bool, str | None]:
    path = os.fspath(file)
    if not isinstance(path, str):
        raise TypeError("file paths must be str, not bytes")
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "no such file to upload", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "cannot upload a directory", path)
    if not os.path.isfile(path):
        # A FIFO or a device would block or never end: only a regular file has a length.
        raise ValueError(f"file must be a regular file to upload: {path!r}")
    # Opened now, so an unreadable file raises PermissionError before any request.
    with open(path, "rb"):
        pass

    @contextlib.contextmanager
    def opener() -> Iterator[UploadSource]:
        # aiohttp streams a real file in chunks from a thread and sends its Content-Length.
        with open(path, "rb") as handle:
            yield handle

    return opener, True, os.path.basename(path)


def _file_object_source(file: IO[bytes]) -> tuple[_Opener, bool, str | None]:
    raw_name = getattr(file, "name", None)
    name = os.path.basename(raw_name) if isinstance(raw_name, str) and raw_name else None
    seekable = _is_seekable(file)
    start = file.tell() if seekable else 0

    @contextlib.contextmanager
    def opener() -> Iterator[UploadSource]:
        if seekable:
            file.seek(start)
        # Chunks go through our own iterator so the caller's file object is never closed.
        yield _read_chunks(file)

    return opener, seekable, name


def _is_seekable(file: IO[bytes]) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


async def _read_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    in_memory = isinstance(file, io.BytesIO)
    while True:
        chunk = (
            file.read(CHUNK_SIZE) if in_memory else await asyncio.to_thread(file.read, CHUNK_SIZE)
        )
        if not chunk:
            return
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError("file must be opened in binary mode ('rb')")
        yield bytes(chunk)
