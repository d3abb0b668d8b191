"""Settings shared by every environment; everything that varies comes from the environment.

`dev` (the default for `plixo demo` and manage.py), `production` (for `plixo serve`) and
`test` (pytest) build on this module.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PLIXO_DATA_DIR", ".plixo")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "plixo.core.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the API docs' Swagger UI from our own origin, as the CSP requires
    "plixo.core",
    "plixo.ledger",
    "plixo.approvals",
    "plixo.ops",
    "plixo.api",
    "plixo.imports",
    "plixo.portal",
    "plixo.payments",
    "plixo.commitments",
    "plixo.disputes",
    "plixo.comms",
    "plixo.cashapp",
    "plixo.reports",
    "plixo.notes",
    "plixo.workspace",
    "plixo.readiness",
    "plixo.seeding",  # above the domains: the demo and synthetic seeders use all of them
]

MIDDLEWARE = [
    "plixo.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (it marks signed-in answers no-store), before CSRF reads the form.
    "plixo.core.middleware.InputGuardMiddleware",
    "plixo.api.middleware.ApiWriteAtomicMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "plixo.core.middleware.OrganizationMiddleware",
    # Inside CSP and the security headers, outside maintenance: every payer-facing answer
    # (maintenance page and 404s included) gets the portal's headers and rate limits.
    "plixo.portal.middleware.PortalMiddleware",
    "plixo.ops.middleware.MaintenanceMiddleware",
    # Axes must be last so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "plixo.urls"
WSGI_APPLICATION = "plixo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "plixo.core.context_processors.plixo",
                "plixo.payments.context_processors.stripe_degraded",
            ],
        },
    },
]


def database_config() -> dict:
    url = os.environ.get("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'plixo.sqlite3'}"
    # Seconds a connection is kept for reuse (PostgreSQL; `DATABASE_CONN_MAX_AGE`, default 60).
    max_age = 0 if url.startswith("sqlite") else int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
    config = dj_database_url.parse(url, conn_max_age=max_age)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web process read while the worker writes; IMMEDIATE transactions take
        # the write lock up front instead of failing with "database is locked" on upgrade.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    else:
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: five failures lock the (username, IP) pair for 30 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_USERNAME_FORM_FIELD = "username"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "private"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Plixo <no-reply@plixo.localhost>")
# The file backend (django.core.mail.backends.filebased.EmailBackend) writes each email here.
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]

# Email providers (django-anymail). The tracking webhooks under /webhooks/email/<provider>/
# answer 503 until ANYMAIL_WEBHOOK_SECRET ("user:password", the basic-auth credentials put in
# the webhook URL at the provider) is set; Mailgun's also needs its webhook signing key.
ANYMAIL = {
    "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", ""),
    # Confirm the Amazon SNS subscription automatically when its confirmation request carries
    # the webhook secret (needs boto3 and AWS credentials allowed to call sns:ConfirmSubscription).
    "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": env_bool(
        "ANYMAIL_AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS", default=True
    ),
}
if os.environ.get("ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY"):
    # Mailgun signs every webhook (HMAC-SHA256); the key is on its "Webhooks" page.
    ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"] = os.environ["ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY"]
if os.environ.get("ANYMAIL_SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"):
    # SendGrid's signed event webhook (ECDSA); needs the `cryptography` package.
    ANYMAIL["SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"] = os.environ[
        "ANYMAIL_SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"
    ]

# Every Stripe API call of every organization goes to this host instead of Stripe's (tests and
# local stand-ins), e.g. http://127.0.0.1:12111.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "").rstrip("/")
# Secrets stored in the database (Stripe keys) are encrypted with the first of these Fernet keys
# and read with any of them, so a key is rotated by putting the new one first and running
# `plixo stripe rotate-keys`. Unset: one key derived from SECRET_KEY (and SECRET_KEY_FALLBACKS).
PLIXO_ENCRYPTION_KEYS = env_list("PLIXO_ENCRYPTION_KEYS")
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

# Where payers reach this installation; links in emails are built on it.
PLIXO_PUBLIC_URL = os.environ.get("PLIXO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Payer portal: links and portal sessions lapse after this many days without activity.
PORTAL_IDLE_DAYS = 7
# Reverse proxies in front of Plixo that append to X-Forwarded-For (0: trust no such header).
PLIXO_TRUSTED_PROXY_HOPS = int(os.environ.get("PLIXO_TRUSTED_PROXY_HOPS", "0"))
# "single" (one organization: its Controllers pause jobs and switch maintenance) or "multi"
# (several organizations share the instance: those instance-wide switches are for Django staff).
PLIXO_INSTANCE_MODE = os.environ.get("PLIXO_INSTANCE_MODE", "single")
# Per client IP, (requests, window in seconds): `link` covers /p/<token>, `renew` the
# self-service renewal form. `renew_per_invoice` caps renewal emails to one invoice's contact.
PORTAL_RATE_LIMITS = {"link": (30, 60), "renew": (5, 900), "renew_per_invoice": (3, 3600)}

# Content Security Policy (django-csp 4): nonces for the few inline scripts we own.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOG_JSON = env_bool("LOG_JSON", default=False)

from plixo.core.logging import logging_config  # noqa: E402

LOGGING = logging_config(level=LOG_LEVEL, json=LOG_JSON)
