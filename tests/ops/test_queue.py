"""Services and tasks import each other one way only: tasks import services, services queue
tasks by name (`plixo.ops.queue`). Checked on the source, function-level imports included, so
a lazy `from plixo.imports.tasks import …` inside a service fails here too."""

import ast
from pathlib import Path

import pytest
from django_tasks.base import Task

import plixo
from plixo.imports import services as imports_services
from plixo.ops.queue import task_enqueue, task_named
from plixo.payments import services as payments_services
from plixo.portal import services as portal_services

PACKAGE = Path(plixo.__file__).parent
APPS = ("imports", "payments", "portal")


def _services_modules(app: str) -> list[Path]:
    single = PACKAGE / app / "services.py"
    package = PACKAGE / app / "services"
    return ([single] if single.exists() else []) + sorted(package.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it, absolute names; `from a import b` counts
    as importing both `a` and `a.b` (b may be a module)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _is_tasks_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "plixo" and "tasks" in parts[1:]


@pytest.mark.parametrize("app", APPS)
def test_services_never_import_tasks(app):
    modules = _services_modules(app)
    assert modules, f"plixo.{app} has no services module"
    offending = {
        str(path.relative_to(PACKAGE.parent)): sorted(
            filter(_is_tasks_module, imported_modules(path))
        )
        for path in modules
    }
    assert {path: found for path, found in offending.items() if found} == {}


def test_the_checker_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    text = (
        "def start():\n"
        "    from .tasks import import_batch_task\n"
        "    from plixo.portal import tasks\n"
    )
    fake = tmp_path / "plixo" / "imports" / "services.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(text)
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path / "plixo")

    found = set(filter(_is_tasks_module, imported_modules(fake)))

    assert found == {
        "plixo.imports.tasks",
        "plixo.imports.tasks.import_batch_task",
        "plixo.portal.tasks",
    }


@pytest.mark.parametrize(
    "path",
    [
        imports_services.IMPORT_BATCH_TASK,
        payments_services.STRIPE_SESSIONS_EXPIRE_TASK,
        payments_services.RECEIPT_EMAIL_SEND_TASK,
        portal_services.PORTAL_LINK_EMAIL_SEND_TASK,
    ],
)
def test_every_task_queued_by_name_exists(path):
    assert isinstance(task_named(path), Task)


def test_a_path_that_is_not_a_task_is_refused():
    with pytest.raises(TypeError, match="is not a task"):
        task_enqueue("plixo.imports.services.import_batch_run")
