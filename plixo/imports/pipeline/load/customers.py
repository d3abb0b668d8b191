"""The organization's customers as an invoice file names them: by external id, or by name.

A file with a customer id column names each customer by that id, looked up per chunk. A file
without one (a Xero export, a QuickBooks report) names customers by their name, compared as
`validate.customer_name_key` does (case, spacing and punctuation aside); there every customer
of the organization is read once per import, because names cannot be looked up that way in an
index. Two customers whose names compare equal cannot be told apart: a row naming them is
refused rather than given to either.
"""

import hashlib

from plixo.imports.pipeline.validate import customer_name_key
from plixo.ledger.models import Customer

AMBIGUOUS = -1


class CustomerIndex:
    def __init__(self, organization_id: int, *, by_name: bool):
        self.org_id = organization_id
        self.by_name = by_name
        self._by_key: dict[str, int] | None = None  # name key -> pk, or AMBIGUOUS
        self._taken: set[str] = set()  # external ids in use (name mode)
        self._twins: dict[str, list[str]] = {}  # name key -> external ids sharing it

    def lookup(self, keys: set[str]) -> dict[str, int]:
        """pk per key for the customers Plixo has (ambiguous names map to AMBIGUOUS)."""
        if not self.by_name:
            return dict(
                Customer.objects.filter(organization_id=self.org_id, external_id__in=keys)
                .order_by()
                .values_list("external_id", "pk")
            )
        by_key = self._everyone()
        return {key: by_key[key] for key in keys if key in by_key}

    def twins(self, key: str) -> list[str]:
        return self._twins.get(key, [])

    def added(self, key: str, pk: int, external_id: str) -> None:
        if self.by_name:
            self._everyone()[key] = pk
            self._taken.add(external_id)

    def external_id_for(self, name: str, key: str) -> str:
        """The external id of a customer created from a name: the name itself, tidied, or when
        another customer already has that as its id, the name with a short digest of it."""
        tidy = " ".join(name.split())[:100]
        if tidy not in self._taken:
            return tidy
        digest = hashlib.blake2b(key.encode(), digest_size=5).hexdigest()
        candidate = f"{tidy[:88]} ~{digest}"
        suffix = 2
        while candidate in self._taken:
            candidate = f"{tidy[:84]} ~{digest}-{suffix}"
            suffix += 1
        return candidate

    def _everyone(self) -> dict[str, int]:
        if self._by_key is None:
            by_key: dict[str, int] = {}
            rows = (
                Customer.objects.filter(organization_id=self.org_id)
                .order_by()
                .values_list("pk", "name", "external_id")
                .iterator(chunk_size=5000)
            )
            for pk, name, external_id in rows:
                self._taken.add(external_id)
                key = customer_name_key(name)
                if key in by_key:
                    self._twins.setdefault(key, []).append(external_id)
                    by_key[key] = AMBIGUOUS
                else:
                    by_key[key] = pk
                    self._twins[key] = [external_id]
            # Only names that two customers share need their ids kept for the message.
            self._twins = {k: v for k, v in self._twins.items() if len(v) > 1}
            self._by_key = by_key
        return self._by_key
