"""The timeline wording for promise, plan and dispute events survives odd data."""

import pytest

from plixo.commitments.templatetags.commitments import commitment_entry
from tests.factories import TimelineEventFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"amount": "x", "promised_on": "not a date", "attachments": "nope"},
        {"attachments": [{"id": "../../etc/passwd", "name": "x"}, "junk", {"name": "no id"}]},
    ],
)
@pytest.mark.parametrize("kind", ["promise_made", "plan_proposed", "dispute_filed"])
def test_odd_data_renders_without_errors(kind, data):
    event = TimelineEventFactory(kind=kind, data=data)
    entry = commitment_entry(event, event.invoice)
    assert entry.summary.endswith(".")
    assert entry.anchor == ""
    assert all(url == "" for _, url in entry.files)


def test_a_dispute_event_links_its_files():
    event = TimelineEventFactory(
        kind="dispute_filed",
        data={
            "dispute": "d1",
            "reason": "Already paid",
            "amount": "12.50",
            "attachments": [{"id": "8f9e1c6e-4b7a-4d8e-9a51-2a0f7f6b3c11", "name": "remit.pdf"}],
            "source": "portal",
        },
    )
    entry = commitment_entry(event, event.invoice)
    assert entry.summary == "Already paid: $12.50 disputed (through the payer portal)."
    assert entry.anchor == "dispute-d1"
    assert entry.files == [
        ("remit.pdf", "/disputes/attachments/8f9e1c6e-4b7a-4d8e-9a51-2a0f7f6b3c11/")
    ]
