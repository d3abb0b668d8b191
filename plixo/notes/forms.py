"""Forms for notes and replies. They check shape and bounds; `services.note_add` judges the
mentions and says what is wrong in the same words on the web and in the API."""

from django import forms

from plixo.core.text import text_problem
from plixo.notes.models import BODY_MAX_LENGTH


class NoteForm(forms.Form):
    """A note on an invoice or a dispute, or a reply to a note (`parent`)."""

    body = forms.CharField(
        label="Note",
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "maxlength": BODY_MAX_LENGTH,
                "placeholder": "Write an internal note. Mention a colleague with @handle.",
            }
        ),
    )
    invoice = forms.UUIDField(widget=forms.HiddenInput)
    dispute = forms.UUIDField(required=False, widget=forms.HiddenInput)
    parent = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # Which thread re-renders after an HTMX post: the invoice's (every note) or the dispute's.
    thread = forms.ChoiceField(
        choices=[("invoice", "invoice"), ("dispute", "dispute")],
        required=False,
        widget=forms.HiddenInput,
    )
    payment_reference = forms.CharField(required=False, max_length=120, widget=forms.HiddenInput)

    def clean_body(self):
        body = (self.cleaned_data.get("body") or "").strip()
        if problem := text_problem(body):
            raise forms.ValidationError(f"The note {problem}.")
        return body

    def clean_payment_reference(self):
        value = (self.cleaned_data.get("payment_reference") or "").strip()
        if text_problem(value, single_line=True):
            raise forms.ValidationError("Choose one of the invoice's payments.")
        return value


class ReplyForm(forms.Form):
    """An answer to a mention, written on the mentions page."""

    body = forms.CharField(
        label="Reply",
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": BODY_MAX_LENGTH}),
    )

    def clean_body(self):
        body = (self.cleaned_data.get("body") or "").strip()
        if problem := text_problem(body):
            raise forms.ValidationError(f"The reply {problem}.")
        return body
