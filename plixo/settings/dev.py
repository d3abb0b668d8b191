"""Local development and the embedded demo: DEBUG on unless DEBUG=0 (`plixo demo` serves with
it off, so it shows Plixo's own error pages), a fixed key if none is given."""

import os

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = os.environ.get("SECRET_KEY") or "plixo-dev-insecure-key-do-not-use-in-production"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
