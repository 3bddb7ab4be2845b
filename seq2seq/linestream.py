"""Lines of a stream, read in bounded memory and handed on as they arrive (``reverse`` on standard input).

Nothing waits for the end of the input: each batch holds the lines that one read brought (at most ``BATCH_LINES``),
so a line typed at a terminal is answered at once and a 4 GB pipe is answered batch by batch. A line is never held
whole when it is longer than the limit: past ``4 * max_chars`` bytes (UTF-8 takes at most 4 bytes a character) its
bytes are dropped as they come and only its number is kept, to say it was too long.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK_BYTES = 64 * 1024
BATCH_LINES = 256


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, counting every line of the stream
    text: str | None  # None when the line cannot be used: ``problem`` says why
    problem: str = ""


def chunks_of(stream: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """What ``stream`` has, as it comes: each read returns what is there (up to ``size``) without waiting to fill."""
    read = getattr(stream, "read1", stream.read)
    while chunk := read(size):
        yield chunk


def line_batches(chunks: Iterable[bytes], max_chars: int, size: int = BATCH_LINES) -> Iterator[list[Line]]:
    """The lines ``chunks`` hold, in batches of at most ``size``; a batch ends where a chunk does, so no line waits
    for input that has not come yet. Lines end at ``\\n`` (a ``\\r`` before it is dropped); a last line without one
    counts too. A line that is not UTF-8 or is over ``max_chars`` characters comes with ``text=None`` and a problem."""
    max_bytes = 4 * max_chars + 1  # + the "\r" of a Windows line end
    pending = bytearray()
    too_long = False  # the line being read has passed max_bytes: its bytes are not kept
    number = 0
    batch: list[Line] = []
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            number += 1
            piece = chunk[start:end]
            too_long = too_long or len(pending) + len(piece) > max_bytes
            batch.append(_line(number, None if too_long else bytes(pending + piece), max_chars))
            pending.clear()
            too_long = False
            start = end + 1
            if len(batch) == size:
                yield batch
                batch = []
        rest = chunk[start:]
        too_long = too_long or len(pending) + len(rest) > max_bytes
        if too_long:
            pending.clear()
        else:
            pending += rest
        if batch:
            yield batch
            batch = []
    if pending or too_long:
        number += 1
        yield [_line(number, None if too_long else bytes(pending), max_chars)]


def _line(number: int, raw: bytes | None, max_chars: int) -> Line:
    """Line ``number`` from its bytes, or from None for one whose bytes were dropped for being too many."""
    too_long = Line(number, None, f"the line is over {max_chars:,} characters long; the limit is {max_chars:,}")
    if raw is None:
        return too_long
    try:
        text = raw.removesuffix(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        return Line(number, None, "the line is not UTF-8 text")
    return too_long if len(text) > max_chars else Line(number, text)
