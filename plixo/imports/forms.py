from django import forms

from plixo.imports.models import DateFormat, ImportKind, NumberFormat
from plixo.imports.services import MAX_UPLOAD_BYTES


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", choices=ImportKind.choices)
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 or Windows-1252; comma, semicolon or tab separated.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
    )
    date_format = forms.ChoiceField(
        label="Dates in the file",
        choices=DateFormat.choices,
        initial=DateFormat.AUTO,
        help_text="ISO dates (2024-03-31) are always understood. Detected: one date such as "
        "31/01/2026 settles it; if every date could be read both ways, the preview asks.",
    )
    number_format = forms.ChoiceField(
        label="Amounts in the file",
        choices=NumberFormat.choices,
        initial=NumberFormat.AUTO,
        required=False,
        help_text="A decimal point (1,234.56) or a decimal comma (1.234,56 or 1 234,56).",
    )
    all_or_nothing = forms.BooleanField(
        label="All or nothing: load nothing if any row is rejected",
        required=False,
    )

    def clean_number_format(self):
        return self.cleaned_data.get("number_format") or NumberFormat.AUTO

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_UPLOAD_BYTES // 1024**3} GB; split it or use "
                "the command line (plixo import)."
            )
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        return upload
