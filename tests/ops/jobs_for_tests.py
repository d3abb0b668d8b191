"""Tasks that tests register as jobs (module level, because django-tasks requires it)."""

from django_tasks import task

CALLS: list[str] = []


@task()
def explode() -> int:
    CALLS.append("explode")
    raise RuntimeError("ledger unreachable")


@task()
def count_calls() -> int:
    CALLS.append("count_calls")
    return len(CALLS)
