"""Every write of the comms app, re-exported: cadences and rules, the cadence engine (tick and
reactions to invoice changes), drafts, the outbox, suppression and provider tracking events."""

from plixo.comms.services.cadences import (
    StepSpec,
    cadence_create,
    cadence_update,
    segment_rule_create,
    segment_rule_delete,
    segment_rule_update,
)
from plixo.comms.services.enrollment import (
    TickResult,
    cadence_invoice_changed,
    cadence_tick,
    drafts_collector_sync,
    drafts_collector_sync_all,
    enrollment_ensure,
    messages_cancel,
)
from plixo.comms.services.messages import (
    message_approve,
    message_cancel,
    message_edit,
    message_requeue,
    message_send_now,
)
from plixo.comms.services.outbox import message_deliver, outbox_recover, outbox_send
from plixo.comms.services.settings import (
    operator_window_clear,
    operator_window_set,
    organization_live_set,
    sending_domain_ensure,
    sending_settings_update,
)
from plixo.comms.services.setup import default_cadences_ensure, sending_settings_for
from plixo.comms.services.suppression import (
    SUPPRESSION_KINDS,
    contact_suppress,
    contact_unsuppress,
    suppressions_reactivate,
)

__all__ = [
    "drafts_collector_sync_all",
    "drafts_collector_sync",
    "SUPPRESSION_KINDS",
    "StepSpec",
    "TickResult",
    "cadence_create",
    "cadence_invoice_changed",
    "cadence_tick",
    "cadence_update",
    "contact_suppress",
    "contact_unsuppress",
    "default_cadences_ensure",
    "enrollment_ensure",
    "message_approve",
    "message_cancel",
    "message_deliver",
    "message_edit",
    "message_requeue",
    "message_send_now",
    "messages_cancel",
    "outbox_recover",
    "operator_window_clear",
    "operator_window_set",
    "organization_live_set",
    "outbox_send",
    "segment_rule_create",
    "segment_rule_delete",
    "segment_rule_update",
    "sending_domain_ensure",
    "sending_settings_for",
    "sending_settings_update",
    "suppressions_reactivate",
]
