"""`plixo apikey create|list|revoke`."""

import hashlib
import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from plixo.api.management.commands.apikey import Command
from plixo.api.models import ApiKey
from plixo.core.models import Role
from tests.api.conftest import ApiClient
from tests.factories import UserFactory


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_the_key_alone_on_stdout(personas):
    email = personas.operator.user.email

    out, err = run("create", "--email", email.upper(), "--org", "acme", "--name", "ERP")

    raw = out.strip()
    assert out == raw + "\n"  # one line, nothing else
    assert re.fullmatch(r"plx_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", raw)
    key = ApiKey.objects.get()
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert key.name == "ERP" and key.user == personas.operator.user
    assert f"plx_{key.prefix}" in err  # the human note goes to stderr
    assert ApiClient(raw).get("/api/v1/invoices").status_code == 200


@pytest.mark.parametrize(
    ("email", "org", "message"),
    [
        ("controller@globex.example", "acme", "not a member"),
        ("nobody@nowhere.example", "acme", "not a member"),
        ("ar_operator@acme.example", "no-such-org", "No organization"),
    ],
)
def test_create_rejects_unknown_user_org_or_non_member(personas, email, org, message):
    UserFactory(email="stranger@acme.example")
    with pytest.raises(CommandError, match=message) as excinfo:
        run("create", "--email", email, "--org", org)
    assert excinfo.value.returncode == 2
    assert not ApiKey.objects.exists()


def test_create_refuses_an_inactive_member(personas):
    membership = personas.operator
    membership.is_active = False
    membership.save()
    with pytest.raises(CommandError, match="inactive") as excinfo:
        run("create", "--email", membership.user.email, "--org", "acme")
    assert excinfo.value.returncode == 2


def test_errors_exit_2_with_the_message_on_stderr_and_nothing_on_stdout(personas, capsys):
    with pytest.raises(SystemExit) as excinfo:
        Command().run_from_argv(
            ["plixo", "apikey", "create", "--email", "nobody@x.example", "--org", "acme"]
        )
    assert excinfo.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "nobody@x.example is not a member of acme" in captured.err


def test_list_shows_prefixes_never_secrets(personas):
    raw, _ = run("create", "--email", personas.operator.user.email, "--org", "acme", "--name", "BI")
    raw = raw.strip()
    key = ApiKey.objects.get()

    out, _ = run("list", "--org", "acme")
    assert f"plx_{key.prefix}" in out and "BI" in out and "active" in out
    assert raw not in out and key.key_hash not in out

    out, _ = run("list", "--org", "acme", "--json")
    data = json.loads(out)
    assert data["organization"] == "acme"
    assert data["keys"] == [
        {
            "prefix": f"plx_{key.prefix}",
            "name": "BI",
            "user": personas.operator.user.email,
            "created_at": data["keys"][0]["created_at"],
            "last_used_at": None,
            "revoked_at": None,
        }
    ]
    out, _ = run("list", "--org", "globex")
    assert "No API keys in globex" in out


def test_revoke_by_prefix(personas):
    raw, _ = run("create", "--email", personas.operator.user.email, "--org", "acme")
    raw = raw.strip()
    key = ApiKey.objects.get()
    client = ApiClient(raw)
    assert client.get("/api/v1/invoices").status_code == 200

    out, _ = run("revoke", f"plx_{key.prefix}", "--org", "acme", "--reason", "rotated")

    assert "Revoked" in out
    assert client.get("/api/v1/invoices").status_code == 401
    out, _ = run("revoke", key.prefix, "--org", "acme")
    assert "already revoked" in out
    out, _ = run("list", "--org", "acme")
    assert "revoked" in out


def test_revoke_is_scoped_to_the_organization(personas):
    run("create", "--email", personas.operator.user.email, "--org", "acme")
    key = ApiKey.objects.get()

    with pytest.raises(CommandError, match="No API key") as excinfo:
        run("revoke", key.prefix, "--org", "globex")
    assert excinfo.value.returncode == 2
    key.refresh_from_db()
    assert key.revoked_at is None


def test_unknown_action_is_a_usage_error(personas):
    with pytest.raises(CommandError):
        run("rotate", "--org", "acme")


def test_role_is_that_of_the_member(personas):
    out, _ = run("create", "--email", personas.members[Role.SALES].user.email, "--org", "acme")
    assert ApiClient(out.strip()).post("/api/v1/invoices", {}).status_code == 403
