"""The payment settings forms: Stripe keys and whether payers may pay part of a balance. The
services check the keys again and have the last word."""

from django import forms

from plixo.payments.stripe.accounts import SECRET_KEY_RE, WEBHOOK_SECRET_RE


class StripeKeysForm(forms.Form):
    secret_key = forms.CharField(
        label="Secret key",
        max_length=260,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Stripe dashboard → Developers → API keys: sk_test_… while testing, "
        "sk_live_… to take real payments (a restricted rk_… key with Checkout and webhook "
        "access works too).",
    )
    webhook_secret = forms.CharField(
        label="Webhook signing secret",
        max_length=260,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="The whsec_… secret of the webhook endpoint you add in Stripe for the URL "
        "shown on this page.",
    )

    def clean_secret_key(self):
        value = self.cleaned_data["secret_key"]
        if not SECRET_KEY_RE.match(value):
            if value.startswith("pk_"):
                raise forms.ValidationError(
                    "That is a publishable key (pk_…); Plixo needs the secret key (sk_…)."
                )
            raise forms.ValidationError("Paste a Stripe secret key: sk_test_… or sk_live_….")
        return value

    def clean_webhook_secret(self):
        value = self.cleaned_data["webhook_secret"]
        if not WEBHOOK_SECRET_RE.match(value):
            raise forms.ValidationError("Paste the endpoint's signing secret: whsec_….")
        return value


class PartialPaymentsForm(forms.Form):
    allow_partial_payments = forms.BooleanField(
        label="Payers may pay part of a balance from the portal",
        required=False,
        help_text="Off: the portal asks for the full balance in one payment.",
    )
