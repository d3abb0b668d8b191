"""`plixo.core` is the bottom layer: organizations, access, money, time. Every domain app builds
on it, so it imports none of them, not even inside a function. Where core has something to tell
the domains (an organization was created) it sends a signal, and where a page needs a domain's
figure the domain's own context processor provides it."""

import ast
from pathlib import Path

import plixo

PLIXO = Path(plixo.__file__).resolve().parent
CORE = PLIXO / "core"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, root: Path = PLIXO.parent) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in the file, at any depth; relative imports are
    resolved against the file's package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module == "plixo":  # `from plixo import ledger` names the package itself
                found += [(node.lineno, f"plixo.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, module))
    return found


def _upward_import(module: str) -> bool:
    """An import of Plixo code outside `plixo.core` (a domain app, or the project's own urls,
    settings and entry points, all of which sit above core)."""
    parts = module.split(".")
    return parts[0] == "plixo" and len(parts) > 1 and parts[1] != "core"


def layer_violations(root: Path = CORE) -> list[str]:
    violations = []
    for path in sorted(root.rglob("*.py")):
        for line, module in sorted(set(_imported_modules(path))):
            if _upward_import(module):
                violations.append(f"{path.relative_to(PLIXO.parent)}:{line} imports {module}")
    return violations


def test_core_imports_no_domain_app():
    violations = layer_violations()

    assert not violations, "plixo.core must not import a domain app:\n" + "\n".join(violations)


def test_the_check_sees_imports_at_any_depth(tmp_path):
    package = tmp_path / "plixo" / "core"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sample.py").write_text(
        "from plixo.core.money import quantize\n"
        "import plixo.ledger.models\n"
        "\n"
        "def later():\n"
        "    from plixo.comms.services import cadence_tick\n"
        "\n"
        "    def deeper():\n"
        "        from plixo import payments\n"
        "        from .. import portal\n"
    )
    found = _imported_modules(package / "sample.py", root=tmp_path)

    upward = [(line, module) for line, module in found if _upward_import(module)]

    assert upward == [
        (2, "plixo.ledger.models"),
        (5, "plixo.comms.services"),
        (8, "plixo.payments"),
        (9, "plixo.portal"),
    ]
