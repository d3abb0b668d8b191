from django import forms

from plixo.cashapp.models import StatementFormat
from plixo.cashapp.parsers import MAX_FILE_BYTES


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label="Bank statement",
        help_text="BAI2, ISO 20022 camt.053 or camt.054 (XML), OFX, or a bank CSV export; up to "
        "20 MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".bai,.bai2,.txt,.xml,.ofx,.qfx,.csv,text/csv,application/xml"}
        ),
    )
    format = forms.ChoiceField(
        label="Format",
        choices=[("", "Recognise from the file"), *StatementFormat.choices],
        required=False,
    )
    currency = forms.CharField(
        label="Currency (CSV without a currency column)",
        max_length=3,
        required=False,
        widget=forms.TextInput(attrs={"size": 4, "autocapitalize": "characters"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError("The file is larger than 20 MB; split it by date.")
        return upload

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()


class CashSettingsForm(forms.Form):
    auto_apply = forms.BooleanField(label="Apply confident matches by themselves", required=False)
    auto_apply_threshold = forms.IntegerField(
        label="Auto-apply from confidence", min_value=50, max_value=100
    )
