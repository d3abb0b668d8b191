"""What the payments app tells the apps built on it."""

from django.dispatch import Signal

# A Stripe payout reached the organization's bank (`payout.paid`): sent with `payout`, inside
# the event's transaction. Cash application reconciles the bank line it became.
stripe_payout_paid = Signal()
