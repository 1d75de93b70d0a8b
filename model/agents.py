"""Technicians as Mesa agents: a per-technician view of the vectorised state, and their states."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

import mesa

if TYPE_CHECKING:
    from model.model import AdoptionModel
    from model.population import Population


class AdopterState(Enum):
    """Where a technician stands with the tool this week (the engine's status, E13)."""

    NOT_LIVE = "not live"
    NEVER_USED = "never used"
    TRYING = "trying it"
    REGULAR = "regular user"
    LAPSED = "lapsed"
    REJECTED = "rejected"


_BY_STATUS = (AdopterState.NEVER_USED, AdopterState.TRYING, AdopterState.REGULAR, AdopterState.LAPSED,
              AdopterState.REJECTED)
"""AdopterState by the engine's status code (model/engine.py: NEVER .. REJECTED)."""


class Technician(mesa.Agent):
    """One technician of one replicate, reading the engine's arrays (the rules live in the engine).

    Created on demand (`AdoptionModel.technicians()`), e.g. to draw a facility's network.
    """

    def __init__(self, model: AdoptionModel, index: int, replicate: int = 0):
        super().__init__(model)
        self.index = index
        self.replicate = replicate

    def _get(self, name: str) -> Any:
        return self.model.engine.state[name][self.replicate, self.index]

    @property
    def facility(self) -> str:
        """The technician's facility name."""
        pop: Population = self.model.population
        return pop.facility_names[int(pop.facility[self.index])]

    @property
    def trust(self) -> float:
        """Trust in the AI's alerts, 0..1."""
        return float(self._get("trust"))

    @property
    def competence(self) -> float:
        """Competence with the tool, 0..1."""
        return float(self._get("competence"))

    @property
    def fear(self) -> float:
        """Fear of being replaced, 0..1."""
        return float(self._get("fear"))

    @property
    def champion(self) -> bool:
        """Whether this technician coaches peers."""
        return bool(self._get("champion"))

    @property
    def habit(self) -> float:
        """Habit strength of using the tool, 0..1."""
        return float(self._get("habit"))

    @property
    def active(self) -> bool:
        """Whether the technician used the tool this week."""
        return bool(self._get("active"))

    @property
    def state(self) -> AdopterState:
        """This week's adopter state."""
        engine = self.model.engine
        if not engine.live_fac[self.replicate, self.model.population.facility[self.index]]:
            return AdopterState.NOT_LIVE
        return _BY_STATUS[int(self._get("status"))]
