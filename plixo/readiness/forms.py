from django import forms

from plixo.readiness.aging_file import MAX_BYTES
from plixo.readiness.services import REASON_MAX


class AgingExportForm(forms.Form):
    file = forms.FileField(
        label="Aging summary (CSV)",
        help_text="QuickBooks or NetSuite A/R Aging Summary, Xero Aged Receivables Summary, or "
        "a file with the columns Current, 1 - 30, 31 - 60, 61 - 90, 91 and over.",
    )
    as_of = forms.DateField(
        label="As of", widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )
    currency = forms.CharField(
        label="Currency of the export",
        max_length=3,
        min_length=3,
        required=False,
        help_text="Empty: the organization's base currency.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is too large (at most {MAX_BYTES // 1024 // 1024} MB)."
            )
        return upload


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label="Why may the organization go live although a check fails?",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
