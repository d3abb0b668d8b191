"""pytest: fast hashing, tasks run immediately, mail kept in memory."""

import os

from .base import *  # noqa: F403

SECRET_KEY = "plixo-test-key-not-secret-but-long-enough-for-the-checks-0123456789"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WHITENOISE_USE_FINDERS = True
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if not os.environ.get("DATABASE_URL"):
    DATABASES = {  # noqa: F811
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": ":memory:"},
        }
    }
AXES_ENABLED = True
LOGGING = logging_config(level="WARNING", json=False)  # noqa: F405
# Static files come from the app directories (WHITENOISE_USE_FINDERS); there is no collected
# STATIC_ROOT in tests.
STATIC_ROOT = None
