"""Mention emails: one task per mention, queued when the note commits.

A mention is claimed with a conditional update before its email is sent, so two workers never
both send it; a failed send releases it with the error kept. During maintenance no email goes
out: the mention stays in the member's queue and unread badge, marked not emailed."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task

from plixo.core.text import header_text
from plixo.notes import services
from plixo.notes.models import Mention
from plixo.ops.selectors import maintenance_active

logger = logging.getLogger(__name__)


def mention_email_message(mention: Mention) -> EmailMultiAlternatives:
    note = mention.note
    invoice = note.invoice
    organization = invoice.organization
    base = settings.PLIXO_PUBLIC_URL
    context = {
        "mention": mention,
        "note": note,
        "invoice": invoice,
        "dispute": note.dispute,
        "organization": organization,
        "author": note.author_label or "A colleague",
        "mentions_url": f"{base}{reverse('notes:mentions')}",
        "invoice_url": base
        + reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id}),
    }
    subject = header_text(
        f"{context['author']} mentioned you on invoice {invoice.number} ({organization.name})"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("notes/email/mention.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mention.user.email],
    )
    message.attach_alternative(render_to_string("notes/email/mention.html", context), "text/html")
    return message


def mention_email_send(mention_id: int) -> bool:
    """Email one mention now. False when maintenance holds email, the mention is gone or was
    already sent (or is being sent by another worker)."""
    if maintenance_active():
        services.mention_email_skip(
            mention_id=mention_id, reason="Not emailed: maintenance mode was on."
        )
        return False
    if not services.mention_email_claim(mention_id=mention_id):
        return False
    mention = (
        Mention.objects.select_related(
            "user", "note__invoice__organization", "note__invoice__customer", "note__dispute"
        )
        .filter(pk=mention_id)
        .first()
    )
    if mention is None:
        return False
    try:
        mention_email_message(mention).send()
    except Exception as exc:
        services.mention_email_release(mention_id=mention_id, error=f"Sending failed: {exc}")
        raise
    services.mention_emailed_record(mention_id=mention_id)
    return True


@task()
def mention_email_send_task(mention_id: int) -> bool:
    return mention_email_send(mention_id)
