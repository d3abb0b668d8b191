"""`@portal_session_required` and the check behind it: a live portal session, or the page that
says how to get in."""

from functools import wraps

from django.shortcuts import render
from django.utils import timezone

from plixo.core.access import access_mark
from plixo.portal.selectors import SESSION_KEY, portal_session_live, portal_session_lookup
from plixo.portal.services import portal_session_touch


def portal_session_gate(request):
    """None when the request may go on (and `request.portal_session` is set); otherwise the
    403 page. An expired session says so and offers a fresh link by email."""
    ref = request.session.get(SESSION_KEY)
    session = portal_session_lookup(ref) if ref else None
    now = timezone.now()
    if portal_session_live(session, now=now):
        if portal_session_touch(session=session, now=now):
            # Re-save the Django session too, so its cookie age slides with the portal session.
            request.session.modified = True
        request.portal_session = session
        return None
    if session is not None:
        replaced = session.link.revoked_at is not None
        context = {
            "title": "This session has ended" if replaced else "Your session has expired",
            "lead": (
                "A newer payment link was issued for this invoice, which closes earlier ones."
                if replaced
                else "For your security, portal sessions end after a period without activity."
            ),
            "renew": True,
            "renew_session": True,
        }
    else:
        context = {
            "title": "Open your payment link",
            "lead": "To see an invoice, open the payment link from the email you received.",
            "body": "Each link opens a private session on the device where you open it.",
        }
    context["status"] = 403
    return render(request, "portal/message.html", context, status=403)


def portal_session_required(view):
    """Payer pages: the request must carry a live portal session, opened from a payer link
    (`request.session["portal_session"]`). The view gets it as `request.portal_session` and
    reads only that session's invoice. Without one the answer is the "open your link" page
    (403), which shows no invoice data. Staff sign-in plays no part here."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        denied = portal_session_gate(request)
        if denied is not None:
            return denied
        return view(request, *args, **kwargs)

    return access_mark(wrapper, "portal")
