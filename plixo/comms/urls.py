"""Staff pages of the comms app. Views live in `plixo.comms.views` (a package: cadences and
settings in one module, drafts and the outbox in another)."""

from django.urls import path

from plixo.comms import views

app_name = "comms"

urlpatterns = [
    # Cadences and segment rules (A/R Manager, Controller)
    path("cadences/", views.cadence_list, name="cadence-list"),
    path("cadences/new/", views.cadence_new, name="cadence-new"),
    path("cadences/<uuid:cadence_id>/", views.cadence_edit, name="cadence-edit"),
    path("cadences/<uuid:cadence_id>/preview/", views.cadence_preview, name="cadence-preview"),
    path("cadences/rules/new/", views.rule_new, name="rule-new"),
    path("cadences/rules/<uuid:rule_id>/", views.rule_edit, name="rule-edit"),
    path("cadences/rules/<uuid:rule_id>/delete/", views.rule_delete, name="rule-delete"),
    # Sending settings: quiet hours, caps, warmup, test address, live/test mode, domains
    path("settings/sending/", views.sending_settings, name="sending-settings"),
    path("settings/sending/live/", views.sending_go_live, name="sending-live"),
    path(
        "settings/sending/operators/<uuid:membership_id>/",
        views.operator_window,
        name="operator-window",
    ),
    path(
        "settings/sending/domains/<uuid:domain_id>/check/",
        views.sending_domain_check,
        name="sending-domain-check",
    ),
    # Drafts and the outbox (operators)
    path("drafts/", views.draft_list, name="draft-list"),
    path("messages/<uuid:message_id>/", views.message_detail, name="message-detail"),
    path("messages/<uuid:message_id>/edit/", views.message_edit_view, name="message-edit"),
    path("messages/<uuid:message_id>/approve/", views.message_approve_view, name="message-approve"),
    path("messages/<uuid:message_id>/send/", views.message_send_view, name="message-send"),
    path("messages/<uuid:message_id>/cancel/", views.message_cancel_view, name="message-cancel"),
    path("messages/<uuid:message_id>/retry/", views.message_retry_view, name="message-retry"),
    path("outbox/", views.outbox_list, name="outbox"),
    # Suppression of a contact (from the customer page)
    path(
        "contacts/<uuid:contact_id>/suppress/", views.contact_suppress_view, name="contact-suppress"
    ),
    path(
        "contacts/<uuid:contact_id>/unsuppress/",
        views.contact_unsuppress_view,
        name="contact-unsuppress",
    ),
]
