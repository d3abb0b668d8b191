"""Settings for the killed-worker test's child processes: the test settings, but a real
database every process shares (a SQLite file under PLIXO_DATA_DIR, or the PostgreSQL database
in DATABASE_URL) and the email backend, claim lease and crash hook from the environment."""

import os

from plixo.settings.base import database_config
from plixo.settings.test import *  # noqa: F403

DATABASES = {"default": database_config()}
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
COMMS_CLAIM_LEASE = int(os.environ.get("COMMS_CLAIM_LEASE", "300"))
if os.environ.get("COMMS_OUTBOX_AFTER_CLAIM"):
    COMMS_OUTBOX_AFTER_CLAIM = os.environ["COMMS_OUTBOX_AFTER_CLAIM"]
