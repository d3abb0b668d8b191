import time
import uuid

from plixo.core.ids import uuid7


def test_uuid7_is_a_version_7_rfc_uuid_ordered_by_time():
    first = uuid7()
    assert first.version == 7 and first.variant == uuid.RFC_4122
    time.sleep(0.002)
    later = [uuid7() for _ in range(100)]
    assert all(first < value for value in later)
    # the leading 48 bits are the creation time in milliseconds
    assert abs((first.int >> 80) - time.time_ns() // 1_000_000) < 5_000


def test_uuid7_keeps_its_random_bits():
    values = {uuid7() for _ in range(10_000)}
    assert len(values) == 10_000
