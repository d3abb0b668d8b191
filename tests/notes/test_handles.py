"""The handle rule and the parsing of @mentions."""

import pytest

from plixo.core.models import Role
from plixo.notes.handles import handle_base, handles_in, member_handles, mention_spans
from tests.factories import MembershipFactory, UserFactory


@pytest.mark.parametrize(
    ("email", "handle"),
    [
        ("legal@acme.example", "legal"),
        ("Dana.Whitfield@Acme.com", "dana.whitfield"),
        ("o'brien+ar@acme.com", "obrienar"),
        ("__x__@acme.com", "x"),
        ("+++@acme.com", "member"),
    ],
)
def test_a_handle_is_the_email_local_part_cleaned(email, handle):
    assert handle_base(email) == handle


def test_mentions_are_found_at_word_starts_not_inside_email_addresses():
    text = "Ask @Legal. Cc @sales, and billing@payer.com; (@csm) @@x @ nobody @ar_manager!"
    assert handles_in(text) == ["legal", "sales", "csm", "ar_manager"]


def test_each_handle_counts_once_in_order():
    assert handles_in("@sales then @legal then @SALES") == ["sales", "legal"]


def test_every_active_member_has_one_handle_and_clashes_get_a_number(personas):
    MembershipFactory(
        organization=personas.org,
        role=Role.AR_OPERATOR,
        user=UserFactory(email="legal@agency.example"),
    )
    MembershipFactory(
        organization=personas.org,
        role=Role.AR_OPERATOR,
        user=UserFactory(email="gone@acme.example"),
        is_active=False,
    )
    directory = member_handles(organization=personas.org)
    assert directory["legal"].membership == personas.members[Role.LEGAL]
    assert directory["legal2"].user.email == "legal@agency.example"
    assert "gone" not in directory
    assert set(directory) >= {"controller", "ar_manager", "sales", "csm"}
    assert "controller" in member_handles(organization=personas.other_org)
    assert len(member_handles(organization=personas.other_org)) == 1


def test_spans_mark_only_known_handles():
    spans = mention_spans("Hi @legal and @nobody.", {"legal"})
    assert spans == [("Hi ", False), ("@legal", True), (" and @nobody.", False)]
