"""@handles: how a note names a member of the organization.

The rule, shown beside every note form and in the docs:

- A member's handle is the part of their email address before the @, in lower case, keeping
  only letters, digits, dots, hyphens and underscores
  (`Dana.Whitfield@acme.com` → `@dana.whitfield`).
  The email address is unique and does not change when a name is edited, so neither does the
  handle.
- When two active members of the organization would share a handle (`jane@acme.com` and
  `jane@agency.com`), the one who joined first keeps it and the next gets a number:
  `@jane`, `@jane2`.
- In a note, `@handle` counts as a mention when it starts the text or follows a space or
  punctuation, so an email address written in a note (`billing@payer.com`) is not one. A
  trailing full stop or comma ends the handle (`ask @legal.`). Case does not matter.
- An @handle that names nobody is refused with the list of valid handles, so a mistyped
  mention never silently notifies no one.
"""

import re
from dataclasses import dataclass

from plixo.core.models import Membership, Organization

_NOT_HANDLE = re.compile(r"[^a-z0-9._-]+")
# `@` at the start or after anything that is not part of a word or address.
MENTION = re.compile(r"(?<![\w@.+-])@([A-Za-z0-9][A-Za-z0-9._-]*)")
HANDLE_MAX_LENGTH = 64


def handle_base(email: str) -> str:
    local = (email or "").split("@", 1)[0].lower()
    base = _NOT_HANDLE.sub("", local).strip("._-")
    return base[: HANDLE_MAX_LENGTH - 4] or "member"


@dataclass(frozen=True)
class Mentionable:
    handle: str
    membership: Membership

    @property
    def user(self):
        return self.membership.user

    @property
    def label(self) -> str:
        return f"@{self.handle}"


def member_handles(*, organization: Organization) -> dict[str, Mentionable]:
    """Every active member of the organization by handle, in the order they joined."""
    memberships = (
        Membership.objects.filter(organization=organization, is_active=True)
        .select_related("user")
        .order_by("created_at", "id")
    )
    found: dict[str, Mentionable] = {}
    for membership in memberships:
        base = handle_base(membership.user.email)
        handle, n = base, 1
        while handle in found:
            n += 1
            handle = f"{base}{n}"
        found[handle] = Mentionable(handle=handle, membership=membership)
    return found


def handle_for(*, organization: Organization, user) -> str | None:
    for mentionable in member_handles(organization=organization).values():
        if mentionable.membership.user_id == user.pk:
            return mentionable.handle
    return None


def handles_in(text: str) -> list[str]:
    """The handles written in `text`, lower case, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(text or ""):
        handle = match.group(1).rstrip("._-").lower()
        if handle:
            seen.setdefault(handle, None)
    return list(seen)


def mention_spans(text: str, known: set[str] | None = None) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_mention) pairs for display; with `known`, only handles in it
    are marked."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in MENTION.finditer(text or ""):
        raw = match.group(1)
        handle = raw.rstrip("._-")
        if not handle or (known is not None and handle.lower() not in known):
            continue
        start = match.start()
        end = match.start(1) + len(handle)
        if start > last:
            pieces.append((text[last:start], False))
        pieces.append((text[start:end], True))
        last = end
    if last < len(text or ""):
        pieces.append((text[last:], False))
    return pieces
