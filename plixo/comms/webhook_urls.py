"""Email provider tracking webhooks, mounted under /webhooks/email/:

    /webhooks/email/postmark/tracking/
    /webhooks/email/amazon_ses/tracking/
    /webhooks/email/sendgrid/tracking/
    /webhooks/email/mailgun/tracking/

(and the same without `tracking/`).
Each is anymail's own tracking view (it checks the basic-auth secret, and Mailgun's
signature, parses the provider's payload and sends the events through its `tracking` signal,
which `plixo.comms.tracking` receives). The provider posts to
`https://<user>:<password>@<host>/webhooks/email/<provider>/tracking/`, with `<user>:<password>`
equal to `ANYMAIL_WEBHOOK_SECRET`.

Without that secret anymail would accept anyone's posts (with a warning), so until it is set
(and, for Mailgun, its webhook signing key) these endpoints refuse every request with 503:
providers keep retrying a 5xx for a while, so events sent before the secret is set are not
lost. No sign-in and no CSRF token: anymail's views are CSRF-exempt.
"""

from functools import wraps

import structlog
from anymail.exceptions import AnymailConfigurationError
from anymail.utils import get_anymail_setting
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.http import HttpResponse
from django.urls import path

from plixo.core.access import public

log = structlog.get_logger(__name__)

app_name = "email_webhooks"

NOT_CONFIGURED = (
    "Email provider webhooks are not configured on this server: "
    "set ANYMAIL_WEBHOOK_SECRET{extra} and restart.\n"
)


def webhook_configuration_missing(esp_name: str) -> str:
    """What must be set before the provider's webhook may accept events ("" when ready)."""
    try:
        secret = get_anymail_setting("webhook_secret", default="")
    except AnymailConfigurationError:
        secret = ""
    missing = [] if secret else ["ANYMAIL_WEBHOOK_SECRET"]
    if esp_name == "Mailgun":
        signing_key = get_anymail_setting(
            "webhook_signing_key", esp_name="Mailgun", default=""
        ) or get_anymail_setting("api_key", esp_name="Mailgun", default="", allow_bare=True)
        if not signing_key:
            missing.append("ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY")
    return ", ".join(missing)


def tracking_endpoint(view_class):
    """anymail's tracking view for one provider, refused (503) until it is configured."""
    view = view_class.as_view()

    @wraps(view)
    def endpoint(request, *args, **kwargs):
        missing = webhook_configuration_missing(view_class.esp_name)
        if missing:
            log.warning("comms.email_webhook_not_configured", provider=view_class.esp_name)
            extra = " and ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY" if "MAILGUN" in missing else ""
            response = HttpResponse(
                NOT_CONFIGURED.format(extra=extra),
                status=503,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = "3600"
            return response
        return view(request, *args, **kwargs)

    endpoint.csrf_exempt = True
    return public(endpoint)


PROVIDERS = {
    "postmark": PostmarkTrackingWebhookView,
    "amazon_ses": AmazonSESTrackingWebhookView,
    "sendgrid": SendGridTrackingWebhookView,
    "mailgun": MailgunTrackingWebhookView,
}

# Each provider answers at /webhooks/email/<provider>/tracking/ (anymail's own layout) and at
# /webhooks/email/<provider>/, the shorter form some set-up guides use.
urlpatterns = [
    pattern
    for provider, view_class in PROVIDERS.items()
    for pattern in (
        path(f"{provider}/tracking/", tracking_endpoint(view_class), name=f"{provider}_tracking"),
        path(f"{provider}/", tracking_endpoint(view_class), name=provider),
    )
]
