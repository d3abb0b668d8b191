"""Background tasks of the ops app: the wrapper every scheduled job runs in, and housekeeping."""

from django_tasks import task

from plixo.ops import services


@task()
def job_run(name: str, scheduled: bool = True) -> str:
    """Run a registered job and record its outcome on the Job row.

    A failing job is re-raised after it is recorded, so the task result shows it failed too
    (the Ops page counts failed tasks)."""
    run = services.job_execute(name=name, scheduled=scheduled)
    if run.exception is not None:
        raise run.exception
    return run.job.last_result


@task()
def task_results_prune() -> int:
    """Delete finished task results older than 14 days; returns how many were deleted."""
    return services.task_results_prune()


@task()
def planner_statistics() -> str:
    from plixo.core.planner import planner_statistics_refresh

    return planner_statistics_refresh()
