"""Time-ordered public ids.

`uuid4` ids land anywhere in their unique index, so a bulk load of a million rows touches index
pages all over the file: past the page cache, every insert is a random read and write. A UUID
version 7 (RFC 9562) starts with the creation time in milliseconds, so new ids append to the
right edge of the index. 74 random bits remain: ids are still not guessable.
"""

import os
import time
import uuid

_RAND_A = (1 << 12) - 1
_RAND_B = (1 << 62) - 1


def uuid7() -> uuid.UUID:
    """48 bits of Unix time in milliseconds, the version (7), 12 random bits, the variant (10),
    62 random bits."""
    millis = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = millis << 80 | 0x7 << 76 | (rand >> 62 & _RAND_A) << 64 | 0b10 << 62 | rand & _RAND_B
    return uuid.UUID(int=value)
