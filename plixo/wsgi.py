import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plixo.settings.production")

application = get_wsgi_application()

# What the worker loaded at start-up (Django, the URL map, templates' code) lives as long as
# the worker: moved out of the collector's reach, a full collection walks only the objects of
# recent requests instead of pausing a request for everything (100-180 ms at a time).
gc.freeze()
