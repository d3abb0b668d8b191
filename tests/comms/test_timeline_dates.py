"""Timeline entries show dates as dates, whatever the stored reason holds."""

from plixo.core.templatetags.plixo import describe_event
from plixo.ledger.models import TimelineEvent
from tests.factories import InvoiceFactory


def test_a_paused_cadence_shows_the_promise_date_as_a_date(db):
    invoice = InvoiceFactory()
    event = TimelineEvent(
        invoice=invoice,
        kind="cadence_paused",
        data={"reason": "Promise to pay on 2026-12-07"},
    )
    assert describe_event(event, invoice).summary == "Promise to pay on Dec 7, 2026."
