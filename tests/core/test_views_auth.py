"""Sign-in with the email address, the django-axes lockout, sign-out and the home redirect."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from plixo.core.models import Role
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _login(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_login_page_renders_for_anonymous_users(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Sign in" in body
    assert 'name="username"' in body
    assert 'type="email"' in body
    assert 'name="password"' in body


def test_login_with_email_lands_on_the_invoice_list(personas):
    client = Client()
    email = personas.operator.user.email

    response = _login(client, email.upper(), PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 302
    assert home.url == reverse("ledger:invoice-list")
    page = client.get(home.url)
    assert page.status_code == 200
    assert "Acme Widgets" in page.content.decode()


def test_wrong_password_shows_an_error_and_signs_nobody_in(personas):
    client = Client()

    response = _login(client, personas.controller.user.email, "not-the-password")

    assert response.status_code == 200
    assert "Please enter a correct email" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_five_failures_lock_the_login_even_for_the_right_password(personas):
    client = Client()
    email = personas.operator.user.email

    for _ in range(4):
        assert _login(client, email, "wrong").status_code == 200
    locked = _login(client, email, "wrong")

    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    assert "30 minutes" in locked.content.decode()
    assert AccessAttempt.objects.filter(username=email).exists()
    again = _login(client, email, PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_of_one_user_leaves_another_alone(personas):
    client = Client()
    for _ in range(5):
        _login(client, personas.operator.user.email, "wrong")

    response = _login(client, personas.controller.user.email, PASSWORD)

    assert response.status_code == 302


def test_logout_is_a_post_and_ends_the_session(controller_client):
    assert controller_client.get(reverse("ledger:invoice-list")).status_code == 200

    response = controller_client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    after = controller_client.get(reverse("ledger:invoice-list"))
    assert after.status_code == 302
    assert after.url.startswith(reverse("login"))


def test_anonymous_visitors_are_sent_to_login_with_next(client):
    response = client.get(reverse("ledger:invoice-list"))

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse('ledger:invoice-list')}"


def test_signed_in_user_without_membership_gets_a_403_page(db):
    user = UserFactory(email="nobody@example.test")
    client = Client()
    client.force_login(user)

    response = client.get(reverse("home"))

    assert response.status_code == 403
    assert "not a member of any organization" in response.content.decode()


def test_login_page_redirects_someone_already_signed_in(personas):
    client = personas.client_for(Role.SALES)

    response = client.get(reverse("login"))

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_the_controller_lands_on_todays_dashboard(personas):
    client = Client()

    response = _login(client, personas.controller.user.email, PASSWORD)

    assert response.url == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert reverse("reports:dashboard-panel") in home.content.decode()
