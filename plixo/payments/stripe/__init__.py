"""Stripe: an organization's keys, Checkout Sessions created through the official SDK, and
webhooks stored, verified, deduplicated and applied exactly once in effect.

- `accounts`: connect, disconnect and re-encrypt an organization's keys.
- `client`: the SDK client (pointed at `STRIPE_API_BASE` when set) and call health (OPS-4).
- `checkout`: the `StripeProvider` the portal's Pay button uses.
- `webhooks`: receive → store raw → verify → deduplicate → process; replay.
- `handlers`: the explicit table of event types and what each does.
"""
