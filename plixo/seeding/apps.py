from django.apps import AppConfig


class SeedingConfig(AppConfig):
    """Demo and synthetic data (`plixo demo`, `plixo seed`). It sits above every domain app and
    writes through their services, so nothing below it depends on it; it has no models."""

    name = "plixo.seeding"
    label = "seeding"
    verbose_name = "Demo and synthetic data"
