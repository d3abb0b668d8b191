"""Settings for `python -m bench portal`: production settings, plus one bare view mounted
beside the app (`bench/portal_urls.py`) as the baseline on the same server stack."""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from plixo.settings.production import *  # noqa: E402, F403

ROOT_URLCONF = "bench.portal_urls"
# Plain HTTP on 127.0.0.1 and no collectstatic step: the benchmark sends its cookies itself and
# never fetches static files.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = logging_config(level="WARNING", json=True)  # noqa: F405
# WhiteNoise warns at start-up when STATIC_ROOT does not exist; the benchmark serves no static.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
