"""Which app carries out an approval request of each kind: kind → (on_approved, on_rejected).

Approvals knows nothing of write-offs or payment plans; the app that owns the action registers
its kind once, from its `AppConfig.ready()`:

    from plixo.approvals.registry import register

    register(
        "plan",
        on_approved=plan_on_approved,   # (approval, *, actor) -> dict | None
        on_rejected=plan_on_rejected,   # (approval, *, actor) -> None
    )

Both run inside the transaction that decides the request, after its status has changed (the
request row is locked and saved as approved or rejected), so a handler that raises rolls the
decision back and the request stays pending. `approval` is the `ApprovalRequest` with its
`params` (the JSON the requester stored to carry the action out), `invoice`, `amount`,
`currency` and `requested_by`; `actor` is the person deciding. `on_rejected` also runs when
the requester (or a Controller) cancels the request: `approval.status` says which. What
`on_approved` returns (ids of the rows it wrote) is stored on the request as its `outcome`.

Handlers must go through their app's own services, which write the invoice's timeline as usual.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OnApproved = Callable[..., dict[str, Any] | None]
OnRejected = Callable[..., None]


@dataclass(frozen=True)
class KindHandler:
    on_approved: OnApproved
    on_rejected: OnRejected


_HANDLERS: dict[str, KindHandler] = {}


def _nothing(approval, *, actor) -> None:
    return None


def register(kind: str, *, on_approved: OnApproved, on_rejected: OnRejected | None = None) -> None:
    """Register the callables that carry out (or close) approval requests of `kind`.

    Registering the same callables again is harmless (ready() may run twice in tests);
    registering different ones for a kind already taken is a programming error."""
    handler = KindHandler(on_approved=on_approved, on_rejected=on_rejected or _nothing)
    existing = _HANDLERS.get(kind)
    if existing is not None and existing != handler:
        raise RuntimeError(f"Approval kind {kind!r} is already registered.")
    _HANDLERS[kind] = handler


def handler_for(kind: str) -> KindHandler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise LookupError(
            f"No app has registered approval kind {kind!r}; nothing could carry it out."
        ) from None


def registered_kinds() -> frozenset[str]:
    return frozenset(_HANDLERS)
