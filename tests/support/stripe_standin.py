"""A small stand-in for Stripe's API and its hosted Checkout page, served on 127.0.0.1.

It covers what Plixo's Checkout uses and nothing more:

- `POST /v1/checkout/sessions` and `GET /v1/checkout/sessions/<id>`, answered as Stripe
  answers them: form-encoded parameters (`line_items[0][price_data][currency]=usd`), Stripe's
  error bodies, and `Idempotency-Key` replays (the same key with the same parameters answers
  the same session again, with `Idempotent-Replayed: true`; with other parameters, a 400);
- failures on demand (`fail_next(3, status=500)`), for the tests of Stripe's health;
- a hosted "checkout page" at the session's `url` with Pay, Decline and Cancel buttons. It takes
  no card data: Pay marks the session paid, sends the signed `checkout.session.completed` event
  Stripe would send to the organization's webhook URL and returns the browser (303) to the
  session's `success_url`; Decline sends `payment_intent.payment_failed` and stays on the page;
  Cancel returns to `cancel_url`.

Plixo reaches it through `STRIPE_API_BASE`. Every request is recorded (method, path, headers,
raw body and the parameters parsed back into nested dicts and lists) for tests to assert on.

    with StripeStandIn(webhook_url=f"{live_server.url}/webhooks/stripe/acme/") as stand_in:
        with override_settings(STRIPE_API_BASE=stand_in.base_url):
            ...

Without a `webhook_url` the events are kept in `deliveries` (status None) for the test to
deliver itself, for instance with `stripe_support.deliver` through Django's test client. The
server stops by itself after `lifetime` seconds if a test never stops it.
"""

import copy
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tests.payments.stripe_support import (
    WEBHOOK_SECRET,
    body_of,
    envelope,
    new_id,
    signature,
    stripe_object,
)

SESSIONS_PATH = "/v1/checkout/sessions"
SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(?P<id>cs_test_[A-Za-z0-9]+)$")
PAY_PATH = re.compile(r"^/pay/(?P<id>cs_test_[A-Za-z0-9]+)/?$")
TEST_KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9]+$")
MAX_BODY_BYTES = 1024 * 1024
WEBHOOK_TIMEOUT_SECONDS = 15

# Stripe's special cases among currencies ("Supported currencies" in Stripe's docs). ISK and
# UGX are zero-decimal in ISO 4217 but Stripe takes them with two decimals.
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF".lower().split()
)
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".lower().split())
PAYMENT_METHOD_TYPES = frozenset({"card", "us_bank_account", "sepa_debit", "link", "ideal"})
# What a declined card says, by decline code (Stripe's messages).
DECLINES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}

STRIPE_ERRORS = {
    401: ("invalid_request_error", None, "Invalid API Key provided: {masked}"),
    402: ("card_error", "card_declined", "Your card was declined."),
    404: ("invalid_request_error", "resource_missing", "Unrecognized request URL ({path})."),
    409: (
        "idempotency_error",
        None,
        "There is currently another in-progress request using this Stripe API Idempotency-Key.",
    ),
    429: (
        "invalid_request_error",
        "rate_limit",
        "Request rate limit exceeded. Learn more about "
        "rate limits here https://stripe.com/docs/rate-limits.",
    ),
}
SERVER_ERROR = (
    "api_error",
    None,
    "Sorry, something went wrong. We've already been notified of the problem.",
)


class StripeStandInError(Exception):
    """The stand-in was used in a way it does not support."""


# --- requests as Stripe reads them ---------------------------------------------------------------


def stripe_params(pairs: list[tuple[str, str]]) -> dict:
    """Form pairs as Stripe reads them: `a[b][0][c]=v` → {"a": {"b": [{"c": "v"}]}}. Values stay
    strings, as on the wire."""
    root: dict = {}
    for key, value in pairs:
        parts = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for part in parts[:-1]:
            part = part or str(len(node))
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1] or str(len(node))] = value
    return _listed(root)


def _listed(value):
    """Dicts whose keys are all indexes become lists, in index order."""
    if not isinstance(value, dict):
        return value
    items = {key: _listed(child) for key, child in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: str
    form: list[tuple[str, str]]
    params: dict
    status: int = 0
    replayed: bool = False
    at: float = field(default_factory=time.time)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/v1/")


@dataclass
class Delivery:
    """One event the stand-in sent (or, without a webhook URL, kept) for Plixo."""

    event: dict
    body: bytes
    signature: str
    status: int | None = None  # Plixo's answer; None when not sent or unreachable
    answer: str = ""

    @property
    def type(self) -> str:
        return self.event["type"]


@dataclass
class _Failure:
    status: int
    should_retry: bool | None
    kept: bool


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: dict, **headers: str) -> _Answer:
    return _Answer(status, json.dumps(payload, indent=2).encode(), headers=dict(headers))


def stripe_error(status: int, *, message: str = "", key: str = "", path: str = "", param=None):
    """Stripe's error body for `status`: {"error": {"type", "code", "message", "param"}}."""
    kind, code, text = STRIPE_ERRORS.get(status) or (
        SERVER_ERROR if status >= 500 else ("invalid_request_error", None, "")
    )
    masked = f"{key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}" if key else ""
    error = {"type": kind, "message": message or text.format(path=path, masked=masked)}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return {"error": error}


# --- the stand-in --------------------------------------------------------------------------------


class StripeStandIn:
    def __init__(
        self,
        *,
        webhook_url: str | None = None,
        webhook_secret: str = WEBHOOK_SECRET,
        webhook_delay: float = 0.0,
        lifetime: float = 300.0,
    ):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        # Seconds between the payer's Pay and the event reaching Plixo. 0: the event is
        # delivered before the browser is sent back; more: the browser usually wins, as with
        # Stripe, whose webhooks are asynchronous.
        self.webhook_delay = webhook_delay
        self.lifetime = lifetime
        self.requests: list[RecordedRequest] = []
        self.sessions: dict[str, dict] = {}
        self.deliveries: list[Delivery] = []
        self._private: dict[str, dict] = {}  # per session: line items, payment intent data
        self._idempotent: dict[str, tuple[dict, _Answer]] = {}
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._delivered = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._serving: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._senders: list[threading.Thread] = []

    # lifecycle

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise StripeStandInError("Start the stand-in first.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "StripeStandIn":
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.stand_in = self
        self._server = server
        self._serving = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._serving.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            timer, self._timer = self._timer, None
            senders, self._senders = self._senders, []
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        for sender in senders:
            sender.join(timeout=WEBHOOK_TIMEOUT_SECONDS + 1)
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._serving is not None:
            self._serving.join(timeout=5)

    def __enter__(self) -> "StripeStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # what tests set and read

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        should_retry: bool | None = None,
        kept: bool = False,
    ):
        """Answer the next `count` API calls with `status` and Stripe's error body for it.

        By default the failure happens before the request runs, as Stripe's rate limiter does,
        so nothing is kept for its idempotency key. `kept=True` is a failure inside the
        endpoint, which Stripe saves: every later call with the same key gets the same error
        back for 24 hours ("including 500 errors"). `should_retry` sets Stripe's
        `Stripe-Should-Retry` header, which the SDK obeys."""
        with self._lock:
            self._failures.extend(_Failure(status, should_retry, kept) for _ in range(count))

    @property
    def api_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.is_api]

    @property
    def session_creates(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == SESSIONS_PATH]

    def session_for(self, url: str) -> dict:
        """The session whose hosted page is at `url`."""
        match = PAY_PATH.match(urlsplit(url).path)
        if match is None or match["id"] not in self.sessions:
            raise StripeStandInError(f"No stand-in session at {url}.")
        return self.sessions[match["id"]]

    def wait_for_deliveries(self, count: int, timeout: float = 15.0) -> list[Delivery]:
        """Wait until `count` events were delivered (or kept); return them all."""
        deadline = time.monotonic() + timeout
        with self._delivered:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self.deliveries)} of {count} webhook deliveries after {timeout}s."
                    )
                self._delivered.wait(left)
            return list(self.deliveries)

    # the API

    def _api(self, request: RecordedRequest) -> _Answer:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        idempotency_key = request.header("Idempotency-Key") or ""
        if failure is not None:
            answer = _json(failure.status, stripe_error(failure.status, key=_bearer(request)))
            if failure.should_retry is not None:
                answer.headers["Stripe-Should-Retry"] = str(failure.should_retry).lower()
            if failure.kept and idempotency_key:
                with self._lock:
                    saved = (copy.deepcopy(request.params), answer)
                    self._idempotent.setdefault(idempotency_key, saved)
            return answer
        key = _bearer(request)
        if not TEST_KEY.match(key):
            return _json(401, stripe_error(401, key=key))
        if request.method == "POST" and request.path == SESSIONS_PATH:
            return self._session_create(request)
        match = SESSION_PATH.match(request.path)
        if request.method == "GET" and match:
            with self._lock:
                session = self.sessions.get(match["id"])
            if session is None:
                message = f"No such checkout.session: '{match['id']}'"
                return _json(404, stripe_error(400, message=message, param="session"))
            return _json(200, session)
        return _json(404, stripe_error(404, path=f"{request.method} {request.path}"))

    def _session_create(self, request: RecordedRequest) -> _Answer:
        key = request.header("Idempotency-Key") or ""
        # One lock for the check and the create: two calls with one key make one session.
        with self._lock:
            if key and key in self._idempotent:
                params, answer = self._idempotent[key]
                if params != request.params:
                    message = (
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request."
                    )
                    error = stripe_error(400, message=message)
                    error["error"]["type"] = "idempotency_error"
                    return _json(400, error)
                request.replayed = True
                return _Answer(
                    answer.status,
                    answer.body,
                    headers={**answer.headers, "Idempotent-Replayed": "true"},
                )
            problem = _session_problem(request.params)
            if problem is not None:
                # Stripe keeps no result for a request that failed validation.
                param, message = problem
                return _json(400, stripe_error(400, message=message, param=param))
            session = self._session_new(request.params)
            answer = _json(200, session)
            if key:
                self._idempotent[key] = (copy.deepcopy(request.params), answer)
            return answer

    def _session_new(self, params: dict) -> dict:
        items = params["line_items"]
        total = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", "1"))
            for item in items
        )
        session_id = f"cs_test_{secrets.token_hex(16)}"
        created = int(time.time())
        session = stripe_object(
            "checkout.session",
            id=session_id,
            object="checkout.session",
            url=f"{self.base_url}/pay/{session_id}",
            mode=params["mode"],
            status="open",
            payment_status="unpaid",
            payment_intent=None,
            amount_total=total,
            amount_subtotal=total,
            currency=items[0]["price_data"]["currency"],
            client_reference_id=params.get("client_reference_id"),
            customer_email=params.get("customer_email"),
            customer_details=None,
            metadata=params.get("metadata") or {},
            payment_method_types=params.get("payment_method_types") or ["card"],
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
            currency_conversion=None,
            created=created,
            expires_at=created + 24 * 3600,
            livemode=False,
        )
        self.sessions[session_id] = session
        self._private[session_id] = {
            "line_items": items,
            "payment_intent_data": params.get("payment_intent_data") or {},
            "payment_intent": None,
        }
        return session

    # the hosted checkout page

    def _page(self, request: RecordedRequest, session_id: str) -> _Answer:
        with self._lock:
            session = self.sessions.get(session_id)
        if session is None:
            return _html(404, _page_html(None, None, notice="This checkout does not exist."))
        if request.method == "GET":
            return _html(200, _page_html(session, self._private[session_id]))
        action = dict(request.form).get("action", "")
        if action == "cancel":
            return _redirect(_return_url(session.get("cancel_url"), session_id))
        if session["status"] != "open":
            notice = f"This checkout is {session['status']}; nothing more can be paid here."
            return _html(409, _page_html(session, self._private[session_id], notice=notice))
        if action == "pay":
            event = self._paid(session_id)
            if event is None:  # a second Pay click on a page paid meanwhile
                return _redirect(_return_url(session.get("success_url"), session_id))
            self._send(event)
            return _redirect(_return_url(session.get("success_url"), session_id))
        if action == "decline":
            code = dict(request.form).get("code", "generic_decline")
            event = self._declined(session_id, code if code in DECLINES else "generic_decline")
            self._send(event)
            notice = f"{DECLINES.get(code, DECLINES['generic_decline'])} Try again."
            # 200, as Stripe's page stays open for another try (its decline is shown in place).
            return _html(200, _page_html(session, self._private[session_id], notice=notice))
        return _html(400, _page_html(session, self._private[session_id], notice="Choose Pay."))

    def _payment_intent(self, session_id: str) -> str:
        private = self._private[session_id]
        private["payment_intent"] = private["payment_intent"] or new_id("pi")
        return private["payment_intent"]

    def _paid(self, session_id: str) -> dict | None:
        with self._lock:
            session = self.sessions[session_id]
            if session["status"] != "open":
                return None
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=self._payment_intent(session_id),
                customer_details={"email": session.get("customer_email"), "name": None},
            )
            return envelope("checkout.session.completed", copy.deepcopy(session))

    def _declined(self, session_id: str, decline_code: str) -> dict:
        with self._lock:
            session = self.sessions[session_id]
            private = self._private[session_id]
            intent_data = private["payment_intent_data"]
            intent = stripe_object(
                "payment_intent",
                id=self._payment_intent(session_id),
                object="payment_intent",
                amount=session["amount_total"],
                currency=session["currency"],
                status="requires_payment_method",
                description=intent_data.get("description"),
                metadata=intent_data.get("metadata") or {},
                canceled_at=None,
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": decline_code,
                    "message": DECLINES[decline_code],
                },
                livemode=False,
            )
            return envelope("payment_intent.payment_failed", intent)

    # webhooks

    def _send(self, event: dict) -> None:
        body = body_of(event)
        delivery = Delivery(event=event, body=body, signature=signature(body, self.webhook_secret))
        if not self.webhook_url:
            self._delivered_add(delivery)
        elif self.webhook_delay > 0:
            sender = threading.Thread(target=self._post_later, args=(delivery,), daemon=True)
            with self._lock:
                self._senders.append(sender)
            sender.start()
        else:
            self._post(delivery)

    def _post_later(self, delivery: Delivery) -> None:
        time.sleep(self.webhook_delay)
        self._post(delivery)

    def _post(self, delivery: Delivery) -> None:
        request = urllib.request.Request(  # noqa: S310 (a URL the test configured)
            self.webhook_url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": delivery.signature,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                delivery.status, delivery.answer = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            delivery.status, delivery.answer = exc.code, exc.read().decode(errors="replace")
        except OSError as exc:
            delivery.answer = f"unreachable: {exc}"
        self._delivered_add(delivery)

    def _delivered_add(self, delivery: Delivery) -> None:
        with self._delivered:
            self.deliveries.append(delivery)
            self._delivered.notify_all()

    # dispatch

    def _handle(self, handler: "_Handler") -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            handler.close_connection = True
            _write(handler, _json(413, stripe_error(400, message="Request too large.")))
            return
        body = handler.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        form = parse_qsl(body, keep_blank_values=True)
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            form=form,
            params=stripe_params(form),
        )
        with self._lock:
            self.requests.append(request)
        if request.is_api:
            answer = self._api(request)
            answer.headers.setdefault("Request-Id", f"req_{secrets.token_hex(7)}")
            answer.headers.setdefault("Stripe-Version", request.header("Stripe-Version") or "")
            if request.header("Idempotency-Key"):
                answer.headers["Idempotency-Key"] = request.header("Idempotency-Key")
        elif match := PAY_PATH.match(request.path):
            answer = self._page(request, match["id"])
        else:
            answer = _html(404, _page_html(None, None, notice="Nothing here."))
        request.status = answer.status
        _write(handler, answer)


def _bearer(request: RecordedRequest) -> str:
    value = request.header("Authorization") or ""
    return value[len("Bearer ") :] if value.startswith("Bearer ") else ""


def _session_problem(params: dict) -> tuple[str, str] | None:
    """What Stripe would refuse in a Checkout Session's parameters: (param, message)."""
    if params.get("mode") not in ("payment", "setup", "subscription"):
        return "mode", "Missing required param: mode."
    items = params.get("line_items")
    if not isinstance(items, list) or not items:
        return "line_items", "Missing required param: line_items."
    currencies = set()
    for i, item in enumerate(items):
        price = item.get("price_data") if isinstance(item, dict) else None
        if not isinstance(price, dict):
            return f"line_items[{i}][price_data]", "Missing required param: price_data."
        currency = str(price.get("currency", ""))
        if not re.fullmatch(r"[a-z]{3}", currency):
            return f"line_items[{i}][price_data][currency]", f"Invalid currency: {currency}."
        currencies.add(currency)
        for name in ("unit_amount", "quantity"):
            value = str(price.get(name) if name == "unit_amount" else item.get(name, "1"))
            if not value.isdigit():
                return f"line_items[{i}][{name}]", f"Invalid integer: {value}"
        if currency in THREE_DECIMAL and int(price["unit_amount"]) % 10:
            return (
                f"line_items[{i}][price_data][unit_amount]",
                f"Amounts in {currency.upper()} must be a multiple of 10 (the last digit "
                "must be 0).",
            )
    if len(currencies) > 1:
        return "line_items", "All line items must be in the same currency."
    currency = currencies.pop()
    for i, kind in enumerate(params.get("payment_method_types") or []):
        if kind not in PAYMENT_METHOD_TYPES:
            return f"payment_method_types[{i}]", f"Invalid payment_method_types[{i}]: {kind}"
        if kind == "us_bank_account" and currency != "usd":
            return (
                "payment_method_types",
                f"The payment method type `us_bank_account` is invalid for currency {currency}.",
            )
    for holder in ("metadata", "payment_intent_data"):
        metadata = params.get(holder) or {}
        if holder == "payment_intent_data":
            metadata = metadata.get("metadata") or {}
        if len(metadata) > 50:
            return holder, "Metadata can have at most 50 keys."
        for name, value in metadata.items():
            if len(name) > 40 or len(str(value)) > 500:
                return f"{holder}[{name}]", "Metadata keys are at most 40 characters, values 500."
    if len(str(params.get("client_reference_id") or "")) > 200:
        return "client_reference_id", "client_reference_id is at most 200 characters."
    return None


def _return_url(url: str | None, session_id: str) -> str:
    return (url or "/").replace("{CHECKOUT_SESSION_ID}", session_id)


def _money(units: int, currency: str) -> str:
    digits = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    amount = units / 10**digits if digits else units
    return f"{currency.upper()} {amount:,.{digits}f}"


METHOD_NAMES = {"card": "Card", "us_bank_account": "US bank account (ACH)"}


def _page_html(session: dict | None, private: dict | None, *, notice: str = "") -> str:
    esc = html.escape
    rows = ""
    if session is not None:
        product = (private or {}).get("line_items", [{}])[0].get("price_data", {})
        product = product.get("product_data", {})
        methods = ", ".join(
            METHOD_NAMES.get(kind, kind) for kind in session.get("payment_method_types") or []
        )
        rows = f"""
  <p class="seller">{esc(str(product.get("description") or ""))}</p>
  <h1>{esc(str(product.get("name") or "Payment"))}</h1>
  <p class="amount">{esc(_money(session["amount_total"], session["currency"]))}</p>
  <dl><dt>Session</dt><dd><code>{esc(session["id"])}</code></dd>
  <dt>Methods offered</dt><dd>{esc(methods)}</dd>
  <dt>Status</dt><dd>{esc(session["status"])} · {esc(session["payment_status"])}</dd></dl>"""
        if session["status"] == "open":
            rows += """
  <form method="post">
    <button type="submit" name="action" value="pay" class="pay">Pay</button>
    <button type="submit" name="action" value="decline" class="decline">Decline</button>
    <button type="submit" name="action" value="cancel" class="cancel">Cancel</button>
  </form>"""
    notice_html = f'<p class="notice" role="alert">{esc(notice)}</p>' if notice else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>Checkout · Stripe stand-in</title>
<style>
 body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f7fb; color: #1a1f36; }}
 .standin {{ background: #fff3cd; border-bottom: 2px solid #e0b000; padding: 10px 16px;
   font-weight: 600; }}
 main {{ max-width: 420px; margin: 32px auto; background: #fff; border-radius: 10px;
   padding: 24px; box-shadow: 0 2px 10px rgba(0,0,0,.08); }}
 .amount {{ font-size: 2rem; font-weight: 700; margin: 0 0 16px; }}
 dl {{ display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; font-size: .9rem; }}
 dt {{ color: #697386; }} dd {{ margin: 0; word-break: break-all; }}
 form {{ display: grid; gap: 10px; margin-top: 20px; }}
 button {{ font: inherit; padding: 12px; border-radius: 6px; border: 1px solid #c1c9d2;
   background: #fff; cursor: pointer; }}
 .pay {{ background: #635bff; color: #fff; border-color: #635bff; font-weight: 600; }}
 .notice {{ background: #fde8e8; border: 1px solid #e25950; padding: 8px 12px;
   border-radius: 6px; }}
</style></head>
<body>
<p class="standin" role="note">Stripe stand-in · a test page, not Stripe. No card or bank
details are asked for and no money moves.</p>
<main>{notice_html}{rows}
</main></body></html>"""


def _html(status: int, text: str) -> _Answer:
    return _Answer(
        status,
        text.encode(),
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


def _redirect(url: str) -> _Answer:
    return _Answer(303, b"", content_type="text/plain", headers={"Location": url})


def _write(handler: "_Handler", answer: _Answer) -> None:
    handler.send_response(answer.status)
    handler.send_header("Content-Type", answer.content_type)
    handler.send_header("Content-Length", str(len(answer.body)))
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(answer.body)


class _Handler(BaseHTTPRequestHandler):
    server_version = "StripeStandIn/1.0"
    timeout = 10  # a stalled client cannot hold a thread for long

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.stand_in._handle(self)

    def do_POST(self):  # noqa: N802
        self.server.stand_in._handle(self)

    def do_DELETE(self):  # noqa: N802
        self.server.stand_in._handle(self)

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        """Quiet: the recorded requests say what happened."""
