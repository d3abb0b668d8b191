"""The cadences a new organization starts with, and the tailored follow-ups sent when an
invoice re-enters its cadence. Managers edit the cadences; the follow-ups are fixed text."""

FRIENDLY_STEPS = (
    (
        -3,
        "friendly",
        "Invoice {invoice_number} is due on {due_date}",
        "Hello {contact_name},\n\n"
        "A friendly reminder that invoice {invoice_number} for {amount_due} is due on "
        "{due_date}. If it is already on its way, thank you, and please ignore this note.\n\n"
        "You can view the invoice and pay it online here:\n{pay_link}\n\n"
        "Kind regards,\n{sender_name}",
    ),
    (
        3,
        "friendly",
        "Invoice {invoice_number} is now past due",
        "Hello {contact_name},\n\n"
        "Our records show invoice {invoice_number} ({amount_due}) was due on {due_date} and is "
        "now {days_overdue} days past due. Could you let us know when we can expect payment?\n\n"
        "Pay online, propose a payment plan or tell us about a problem here:\n{pay_link}\n\n"
        "Thank you,\n{sender_name}",
    ),
    (
        14,
        "firm",
        "Second reminder: invoice {invoice_number} is {days_overdue} days overdue",
        "Hello {contact_name},\n\n"
        "Invoice {invoice_number} for {amount_due} is {days_overdue} days overdue and we have not "
        "received payment yet. Please arrange payment this week, or reply to tell us what is "
        "holding it up.\n\n{pay_link}\n\n{sender_name}",
    ),
    (
        30,
        "final",
        "Final notice: invoice {invoice_number}",
        "Hello {contact_name},\n\n"
        "Invoice {invoice_number} ({amount_due}) is now {days_overdue} days overdue. This is our "
        "final reminder before we escalate the account. Please pay or contact us within 7 "
        "days.\n\n{pay_link}\n\n{sender_name}",
    ),
)

FIRM_STEPS = (
    (
        1,
        "firm",
        "Invoice {invoice_number} is overdue",
        "Hello {contact_name},\n\n"
        "Invoice {invoice_number} for {amount_due} was due on {due_date}. Please arrange payment "
        "now; you can pay online here:\n{pay_link}\n\n{sender_name}",
    ),
    (
        7,
        "firm",
        "Invoice {invoice_number}: payment required",
        "Hello {contact_name},\n\n"
        "Invoice {invoice_number} ({amount_due}) is {days_overdue} days overdue. Please pay today "
        "or reply with a date.\n\n{pay_link}\n\n{sender_name}",
    ),
    (
        21,
        "final",
        "Final notice: invoice {invoice_number}",
        "Hello {contact_name},\n\n"
        "Invoice {invoice_number} ({amount_due}) is {days_overdue} days overdue. Unless we "
        "receive payment within 7 days we will escalate the account.\n\n{pay_link}\n\n"
        "{sender_name}",
    ),
)

FINAL_STEPS = (
    (
        45,
        "final",
        "Final notice: invoice {invoice_number}",
        "Hello {contact_name},\n\n"
        "Invoice {invoice_number} for {amount_due} is seriously overdue. Please pay it in full "
        "within 7 days or contact us to agree a plan.\n\n{pay_link}\n\n{sender_name}",
    ),
)

# (name, description, requires_approval, is_default, steps)
DEFAULT_CADENCES = (
    (
        "Friendly",
        "A reminder before the due date, then gentle nudges; the default for every invoice.",
        True,
        True,
        FRIENDLY_STEPS,
    ),
    (
        "Firm",
        "For customers who pay late: overdue notices from the first day.",
        True,
        False,
        FIRM_STEPS,
    ),
    (
        "Final notice",
        "One last notice before escalation, for invoices long overdue.",
        True,
        False,
        FINAL_STEPS,
    ),
)

FOLLOWUPS = {
    "promise_missed": (
        "firm",
        "Your promised payment for invoice {invoice_number}",
        "Hello {contact_name},\n\n"
        "You let us know that invoice {invoice_number} would be paid, and the date you gave has "
        "passed without payment reaching us. {amount_due} is still open. Please pay now, or "
        "reply with a new date.\n\n{pay_link}\n\n{sender_name}",
    ),
    "plan_missed": (
        "firm",
        "A payment plan installment for invoice {invoice_number} was missed",
        "Hello {contact_name},\n\n"
        "An installment of the payment plan agreed for invoice {invoice_number} has not reached "
        "us. {amount_due} is still open on the invoice. Please make the payment now to keep the "
        "plan in place.\n\n{pay_link}\n\n{sender_name}",
    ),
    # Promise reminders: two days before the promised date and on the day (drafted by the
    # cadence engine while the promise pauses it), or sent by hand from the invoice.
    "promise_reminder": (
        "friendly",
        "A reminder about your payment for invoice {invoice_number}",
        "Hello {contact_name},\n\n"
        "Thank you for letting us know that {promise_amount} of invoice {invoice_number} will "
        "be paid on {promise_date}. This is a friendly reminder; if it is already on its way, "
        "please disregard this email.\n\nYou can pay here:\n{pay_link}\n\n{sender_name}",
    ),
    "dispute_resolved": (
        "friendly",
        "Invoice {invoice_number}: following up after your dispute",
        "Hello {contact_name},\n\n"
        "Thank you for your patience while we looked into invoice {invoice_number}. The dispute "
        "is now closed and {amount_due} remains due. You can pay it here:\n{pay_link}\n\n"
        "{sender_name}",
    ),
}


# What the payer is told when staff decide on a payment plan. `{plan_schedule}` and
# `{decision_note}` are filled in when the notice is written; the rest are merge fields filled
# in when it is sent.
NOTICES = {
    "plan_accepted": (
        "friendly",
        "Your payment plan for invoice {invoice_number} is confirmed",
        "Hello {contact_name},\n\n"
        "Your payment plan for invoice {invoice_number} is in place:\n\n{plan_schedule}\n\n"
        "{decision_note}We will remind you before each payment. You can pay an installment "
        "here at any time:\n{pay_link}\n\n{sender_name}",
    ),
    "plan_declined": (
        "friendly",
        "About the payment plan you proposed for invoice {invoice_number}",
        "Hello {contact_name},\n\n"
        "Thank you for proposing a payment plan for invoice {invoice_number}. We are not able "
        "to accept it as proposed.\n\n{decision_note}{amount_due} remains due. Please pay "
        "here, or reply to discuss another arrangement:\n{pay_link}\n\n{sender_name}",
    ),
    "plan_countered": (
        "friendly",
        "A payment plan offer for invoice {invoice_number}",
        "Hello {contact_name},\n\n"
        "Thank you for proposing a payment plan for invoice {invoice_number}. We cannot accept "
        "that schedule, and we can offer this one instead:\n\n{plan_schedule}\n\n"
        "{decision_note}Paying the first installment accepts it; reply if it does not work "
        "for you.\n{pay_link}\n\n{sender_name}",
    ),
    "plan_link": (
        "friendly",
        "Your payment plan for invoice {invoice_number}",
        "Hello {contact_name},\n\n"
        "Here is your payment plan for invoice {invoice_number}:\n\n{plan_schedule}\n\n"
        "You can pay the next installment here:\n{pay_link}\n\n{sender_name}",
    ),
}
