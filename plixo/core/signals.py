"""What core announces to the apps built on it. Core imports no domain app: a domain that must
act when something happens here connects a receiver in its `AppConfig.ready`."""

from django.dispatch import Signal

# Sent by `organization_create` inside its transaction, with `organization`. Receivers write
# what every organization starts with (comms: the default cadences); an exception rolls the
# new organization back with them.
organization_created = Signal()
