"""The Ops page: who sees it, what it shows, and its POST actions."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from plixo.core.models import Role
from plixo.ops import services
from plixo.ops.models import Job
from plixo.ops.scheduler import Scheduler
from plixo.ops.selectors import maintenance_active
from tests.ops.conftest import T0

pytestmark = pytest.mark.django_db

INDEX = reverse("ops:index")
VIEWERS = [Role.CONTROLLER, Role.AR_MANAGER, Role.BILLING_ADMIN]
MANAGERS = [Role.CONTROLLER, Role.AR_MANAGER]
NOT_VIEWERS = [Role.AR_OPERATOR, Role.SALES, Role.CSM, Role.LEGAL]


def action_url(action: str, name: str) -> str:
    return reverse(f"ops:job-{action}", kwargs={"job_name": name})


@pytest.mark.parametrize("role", VIEWERS)
def test_viewers_see_jobs_health_and_maintenance(personas, role):
    response = personas.client_for(role).get(INDEX)

    assert response.status_code == 200
    body = response.content.decode()
    assert "comms.suppressions_reactivate" in body
    assert "End contact suppressions" in body
    assert "tasks.prune" in body and "1 day" in body and "15 min" in body
    assert "Never run" in body
    assert "when the scheduler starts" in body  # the scheduler has not synced the table yet
    assert "Stale" in body and "has never run" in body
    assert "Maintenance mode" in body and "The payer portal is open" in body
    # The page reads; it does not create job rows.
    assert not Job.objects.exists()


def test_managers_get_the_buttons_and_billing_admins_do_not(personas):
    manager = personas.client_for(Role.AR_MANAGER).get(INDEX).content.decode()
    billing = personas.client_for(Role.BILLING_ADMIN).get(INDEX).content.decode()

    assert action_url("pause", "tasks.prune") in manager
    assert action_url("run", "tasks.prune") in manager
    assert "Turn maintenance on" in manager
    assert action_url("pause", "tasks.prune") not in billing
    assert "Run now" not in billing
    assert "Turn maintenance on" not in billing


@pytest.mark.parametrize("role", NOT_VIEWERS)
def test_other_roles_are_refused(personas, role):
    assert personas.client_for(role).get(INDEX).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(INDEX)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_pause_resume_and_run_from_the_page(personas):
    client = personas.client_for(Role.AR_MANAGER)
    who = str(personas.members[Role.AR_MANAGER].user)

    response = client.post(action_url("pause", "comms.suppressions_reactivate"), follow=True)
    assert response.redirect_chain[-1][0] == INDEX
    job = Job.objects.get(name="comms.suppressions_reactivate")
    assert job.paused is True and job.paused_by == who
    body = response.content.decode()
    assert "Paused comms.suppressions_reactivate" in body
    assert action_url("resume", "comms.suppressions_reactivate") in body

    client.post(action_url("resume", "comms.suppressions_reactivate"))
    assert Job.objects.get(name="comms.suppressions_reactivate").paused is False

    response = client.post(action_url("run", "tasks.prune"), follow=True)
    job = Job.objects.get(name="tasks.prune")
    # Tests run tasks at once; with a worker it would show "Enqueued" until picked up.
    assert job.last_status == Job.Status.OK
    assert job.last_result == "0 task results deleted"
    assert "0 task results deleted" in response.content.decode()


@pytest.mark.parametrize("action", ["pause", "resume", "run"])
def test_billing_admins_cannot_steer_jobs(personas, action):
    response = personas.client_for(Role.BILLING_ADMIN).post(action_url(action, "tasks.prune"))
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_an_unknown_job_is_404_and_get_is_405(personas):
    client = personas.client_for(Role.CONTROLLER)
    assert client.post(action_url("pause", "no.such.job")).status_code == 404
    assert client.get(action_url("pause", "tasks.prune")).status_code == 405


def test_a_failed_job_shows_its_error(personas, failing_job):
    services.job_execute(name="test.explode")
    body = personas.client_for(Role.CONTROLLER).get(INDEX).content.decode()
    assert "badge-error" in body
    assert "RuntimeError: ledger unreachable" in body


def test_maintenance_toggle(personas):
    client = personas.client_for(Role.CONTROLLER)

    response = client.post(
        reverse("ops:maintenance"), {"enabled": "on", "message": "Back at noon"}, follow=True
    )
    assert maintenance_active() is True
    body = response.content.decode()
    assert "Turn maintenance off" in body and "Back at noon" in body
    assert client.get("/p/anything").status_code == 503

    client.post(reverse("ops:maintenance"), {"enabled": "off"})
    assert maintenance_active() is False


def test_maintenance_toggle_rejects_bad_input(personas):
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(reverse("ops:maintenance"), {"enabled": "maybe"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = client.post(reverse("ops:maintenance"), {"enabled": "on", "message": "x" * 301})
    assert response.status_code == 400
    assert maintenance_active() is False


def test_billing_admins_cannot_toggle_maintenance(personas):
    response = personas.client_for(Role.BILLING_ADMIN).post(
        reverse("ops:maintenance"), {"enabled": "on"}
    )
    assert response.status_code == 403
    assert maintenance_active() is False


def test_scheduler_health_shows_the_leader_and_goes_stale(personas):
    client = personas.client_for(Role.CONTROLLER)
    with time_machine.travel(T0, tick=True) as traveller:
        Scheduler(holder="web-1:42:abc").tick()
        body = client.get(INDEX).content.decode()
        assert "web-1:42:abc" in body
        assert 'badge-ok">Running' in body
        assert "Stale" not in body

        traveller.shift(dt.timedelta(seconds=61))
        body = client.get(INDEX).content.decode()
        assert "Stale" in body
        assert "has not ticked for over a minute" in body
        assert "No scheduler holds the lease" in body  # its 30 s lease ran out too


def test_queue_depth_counts_waiting_and_failed_tasks(personas):
    def result(status, **extra):
        return DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path="plixo.ops.tasks.task_results_prune",
            backend_name="default",
            status=status,
            **extra,
        )

    for _ in range(3):
        result(TaskResultStatus.READY)
    result(TaskResultStatus.FAILED, finished_at=timezone.now())
    DBTaskResult.objects.update(enqueued_at=timezone.now() - dt.timedelta(minutes=5))

    response = personas.client_for(Role.CONTROLLER).get(INDEX)
    dashboard = response.context["dashboard"]
    assert dashboard.queue.waiting == 3
    assert dashboard.queue.failed_recent == 1
    assert dashboard.queue.stuck is True
    assert "is a worker running?" in response.content.decode()


def test_the_console_shows_this_organizations_readiness_and_email_queues(personas):
    """OPS-2: the last Data-Ready run and the organization's email queues, each to the roles
    that may open what they count."""
    from plixo.comms.models import Message
    from plixo.core.permissions import Cap, role_can
    from tests.factories import InvoiceFactory, data_ready

    invoice = InvoiceFactory(organization=personas.org)
    for n in range(3):
        Message.objects.create(
            organization=personas.org,
            invoice=invoice,
            kind=Message.Kind.STEP,
            purpose=f"step:ops:{n}",
            idempotency_key=f"ops:{n}",
            subject="Reminder",
            body="Hello",
            status=Message.Status.DRAFT,
        )
    controller = personas.client_for(Role.CONTROLLER)
    body = controller.get(INDEX).content.decode()
    assert "Data-Ready" in body and "Not run" in body
    assert "Drafts awaiting approval" in body
    assert '<span class="stat-value">3</span>' in body

    data_ready(personas.org)
    assert "Passed" in controller.get(INDEX).content.decode()

    billing = personas.client_for(Role.BILLING_ADMIN).get(INDEX).content.decode()
    assert ("Drafts awaiting approval" in billing) == role_can(
        Role.BILLING_ADMIN, Cap.MESSAGES_VIEW
    )
    assert ("Not run" in billing or "Passed" in billing) == role_can(
        Role.BILLING_ADMIN, Cap.READINESS_VIEW
    )
