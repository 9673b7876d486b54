"""The local CPU budget: units that declare `Resources(cpu=N)` run at the same time only while the
CPUs they declare fit in the budget (the machine's CPU count, or `[tool.workbench] cpus`).

A unit that declares no CPU is bounded by `--jobs` alone. A unit that declares more than the whole
budget still runs, once no other declaring unit is running (so nothing waits forever).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CpuBudget:
    total: float
    in_use: dict[str, float] = field(default_factory=dict)  # running unit -> the CPUs it declared

    def fits(self, need: float) -> bool:
        """Whether a unit declaring `need` CPUs may start now."""
        return need <= 0 or not self.in_use or sum(self.in_use.values()) + need <= self.total

    def take(self, unit: str, need: float) -> None:
        if need > 0:
            self.in_use[unit] = need

    def release(self, unit: str) -> None:
        self.in_use.pop(unit, None)
