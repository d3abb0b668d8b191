"""What every loader shares: rows waiting to load, outcomes, the base class."""

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from plixo.core.models import Membership, Role
from plixo.core.permissions import Cap, role_can
from plixo.imports.models import ImportBatch
from plixo.imports.pipeline.validate import RowError


@dataclass
class Pending:
    line: int
    cells: list[str]
    row: dict
    # The other rows of the same invoice in a file with one row per line item, as (line,
    # cells): accepted or rejected with this row.
    members: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass
class Outcome:
    rejects: list[tuple[Pending, RowError]] = field(default_factory=list)
    created: int = 0
    updated: int = 0

    @property
    def rejected_lines(self) -> set[int]:
        return {pending.line for pending, _ in self.rejects}


class Loader(ABC):
    """One kind's loader: `load` writes (or, with write=False, only checks) a chunk of rows."""

    def __init__(self, batch: ImportBatch):
        self.batch = batch
        self.organization = batch.organization
        self.org_id = batch.organization_id
        self.actor = batch.created_by
        self.actor_label = f"Import {batch.original_name}"[:200]
        self.zone = ZoneInfo(self.organization.time_zone)

    @cached_property
    def role(self) -> str | None:
        """The uploader's role in the organization now; None for a batch run from the command
        line (the server's operator), which may do everything."""
        if self.batch.created_by_id is None:
            return None
        membership = Membership.objects.filter(
            organization_id=self.org_id, user_id=self.batch.created_by_id, is_active=True
        ).first()
        return membership.role if membership else ""

    def may(self, capability: Cap) -> bool:
        return self.role is None or role_can(self.role, capability)

    def not_allowed(self, column: str, action: str) -> RowError:
        """A row whose effect the uploader may not bring about directly (R7)."""
        label = Role(self.role).label if self.role in Role.values else "no role"
        return RowError(
            column, "not_allowed", f"Your role ({label}) may not {action}; the row was not loaded."
        )

    def at_noon(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(12), tzinfo=self.zone)

    @abstractmethod
    def load(self, rows: list[Pending], *, write: bool) -> Outcome: ...

    def finish(self, *, write: bool, clean: bool) -> None:  # noqa: B027 - optional hook
        """Called once after the last chunk, inside the last transaction; most kinds need
        nothing here."""


def conflict(column: str, message: str) -> RowError:
    return RowError(column, "conflict", message)
