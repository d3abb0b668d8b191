"""Headers and per-IP rate limits for everything a payer reaches.

Portal pages carry tokens in their URLs and invoice data in their bodies: no Referer may leak
the token to another site and no cache may keep the page (`Referrer-Policy: no-referrer`,
`Cache-Control: no-store`). This wraps every answer under the payer prefixes, including 404s,
the maintenance page and the 429 page itself.
"""

from django.conf import settings
from django.shortcuts import render

from plixo.portal.services import under_limit

PAYER_PREFIXES = ("/p/", "/portal/")
LINK_PREFIX = "/p/"
REDACTED = "[token]"
# Path prefix -> the limit in settings.PORTAL_RATE_LIMITS that guards it.
LIMITED_PREFIXES = (("/p/", "link"), ("/portal/renew/", "renew"))


def client_ip(request) -> str:
    """The payer's address for rate limits.

    Behind N reverse proxies (`PLIXO_TRUSTED_PROXY_HOPS`), each appends the address it saw to
    X-Forwarded-For, so the N-th entry from the right is the one the outermost trusted proxy
    received the request from; anything further left was written by the client and is ignored.
    With no proxy configured the header is not trusted at all.
    """
    hops = settings.PLIXO_TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def portal_headers(response):
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


class PortalMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if not path.startswith(PAYER_PREFIXES):
            return self.get_response(request)
        if path.startswith(LINK_PREFIX):
            # The token is a bearer secret (R3). Django's request logging and ours print
            # `request.path`; URL resolution uses `path_info`, which keeps the token.
            request.path = f"{LINK_PREFIX}{REDACTED}"
        for prefix, name in LIMITED_PREFIXES:
            if path.startswith(prefix):
                limit = settings.PORTAL_RATE_LIMITS[name]
                if not under_limit(f"portal-rl:{name}:{client_ip(request)}", limit):
                    response = render(
                        request,
                        "portal/message.html",
                        {
                            "title": "Too many attempts",
                            "status": 429,
                            "lead": "This device has made too many requests for payment links "
                            "in a short time.",
                            "body": "Please wait a few minutes and try again.",
                        },
                        status=429,
                    )
                    response["Retry-After"] = str(limit[1])
                    return portal_headers(response)
                break
        return portal_headers(self.get_response(request))
