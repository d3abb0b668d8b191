from django import forms


class MaintenanceForm(forms.Form):
    enabled = forms.TypedChoiceField(
        choices=[("on", "On"), ("off", "Off")], coerce=lambda value: value == "on"
    )
    message = forms.CharField(
        max_length=300,
        required=False,
        label="Message for payers",
        help_text="Shown on the maintenance page while the portal is closed.",
    )
