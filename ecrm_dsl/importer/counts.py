"""What an import did to each table: rows inserted, updated, left unchanged, and repeated within the file."""

from __future__ import annotations

from dataclasses import dataclass

from ecrm_dsl.store.upsert import Status


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    repeated: int = 0  # rows that only repeat an earlier row of the same file

    def add(self, status: Status) -> None:
        setattr(self, status, getattr(self, status) + 1)

    def __str__(self) -> str:
        text = f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f" ({self.repeated} repeated rows)" if self.repeated else "")
