"""Staff pages of the comms app, re-exported for `plixo.comms.urls`."""

from plixo.comms.views.cadences import (  # noqa: F401
    cadence_edit,
    cadence_list,
    cadence_new,
    cadence_preview,
    operator_window,
    rule_delete,
    rule_edit,
    rule_new,
    sending_domain_check,
    sending_go_live,
    sending_settings,
)
from plixo.comms.views.messages import (  # noqa: F401
    contact_suppress_view,
    contact_unsuppress_view,
    draft_list,
    message_approve_view,
    message_cancel_view,
    message_detail,
    message_edit_view,
    message_retry_view,
    message_send_view,
    outbox_list,
)
