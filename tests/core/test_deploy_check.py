"""R9: production settings pass `check --deploy` with zero warnings, refuse to start without a
SECRET_KEY, and really send a Content Security Policy and HTTPS-only cookies.

Production settings are loaded in a subprocess: they are a different settings module from the
one the test run is configured with, and Django reads settings once per process.
"""

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="plixo.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        PLIXO_DATA_DIR=str(tmp_path / "data"),
        ALLOWED_HOSTS="plixo.example.com",
        LOG_LEVEL="WARNING",
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_settings(production_env):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in result.stdout, output
    assert "WARNINGS:" not in output
    assert "ERRORS:" not in output


def test_production_settings_refuse_to_start_without_a_secret_key(production_env):
    del production_env["SECRET_KEY"]

    result = _run(["manage.py", "check"], production_env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_refuse_an_empty_secret_key(production_env):
    production_env["SECRET_KEY"] = ""

    result = _run(["manage.py", "check"], production_env)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# Runs under production settings: migrates a throwaway SQLite database and collects static files
# (production serves them from a hashed manifest), then asks the login page over HTTP and HTTPS
# and prints the security settings and what the responses carried.
PROBE = textwrap.dedent(
    """
    import json
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as `plixo serve` does
    from django.test import Client
    from django.urls import reverse

    client = Client(HTTP_HOST="plixo.example.com")
    plain = client.get(reverse("login"))
    secure = client.get(reverse("login"), secure=True)
    csrf = secure.cookies.get(settings.CSRF_COOKIE_NAME)
    print(json.dumps({
        "DEBUG": settings.DEBUG,
        "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
        "SESSION_COOKIE_HTTPONLY": settings.SESSION_COOKIE_HTTPONLY,
        "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
        "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
        "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
        "plain_status": plain.status_code,
        "plain_location": plain.get("Location", ""),
        "status": secure.status_code,
        "csp": secure.get("Content-Security-Policy", ""),
        "hsts": secure.get("Strict-Transport-Security", ""),
        "frame_options": secure.get("X-Frame-Options", ""),
        "nosniff": secure.get("X-Content-Type-Options", ""),
        "csrf_cookie_secure": bool(csrf and csrf["secure"]),
    }))
    """
)


def test_production_sends_csp_hsts_and_secure_cookies(production_env, tmp_path):
    production_env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'probe.sqlite3'}"

    result = _run(["-c", PROBE], production_env)

    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["DEBUG"] is False
    assert seen["SESSION_COOKIE_SECURE"] is True
    assert seen["SESSION_COOKIE_HTTPONLY"] is True
    assert seen["CSRF_COOKIE_SECURE"] is True
    assert seen["SECURE_HSTS_SECONDS"] >= 31536000
    # Plain HTTP is sent to HTTPS.
    assert seen["plain_status"] == 301
    assert seen["plain_location"].startswith("https://plixo.example.com/")
    # Over HTTPS the page carries a strict policy: scripts only from us (or with the nonce of
    # the response), never inline.
    assert seen["status"] == 200
    directives = {
        part.strip().split()[0]: part.strip().split()[1:]
        for part in seen["csp"].split(";")
        if part.strip()
    }
    assert directives["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'self'" in directives["script-src"]
    # django-csp's nonce marker must be replaced by a real nonce or dropped, never sent as is.
    assert "'nonce'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives.get("style-src", [])
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "max-age=" in seen["hsts"] and "includeSubDomains" in seen["hsts"]
    assert seen["frame_options"] == "DENY"
    assert seen["nosniff"] == "nosniff"
    assert seen["csrf_cookie_secure"] is True
