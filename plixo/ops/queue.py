"""Queueing a background task by its dotted path.

Tasks call services; services never import tasks. A service that hands work to the worker (an
import to run, an email to send) names the task by its path instead, the way the job registry
(`plixo.ops.jobs`) and the database queue itself (`DBTaskResult.task_path`) do. So the import
graph runs one way, tasks → services, and importing a services module never loads the task
layer. `tests/ops/test_queue.py` holds both halves: services modules import no tasks module,
and every path named here resolves to a task.
"""

from django.utils.module_loading import import_string
from django_tasks.base import Task, TaskResult


def task_named(path: str) -> Task:
    """The task at `path` ("plixo.imports.tasks.import_batch_task"); a path that names
    anything else is a programming error, raised at once."""
    found = import_string(path)
    if not isinstance(found, Task):
        raise TypeError(f"{path} is not a task.")
    return found


def task_enqueue(path: str, *args, **kwargs) -> TaskResult:
    """Queue the task at `path` with these arguments. With the database queue the task row is
    written in the caller's transaction, so the worker sees it only once that commits; to
    queue something only after a commit, call this from `transaction.on_commit`."""
    return task_named(path).enqueue(*args, **kwargs)
