"""Golden cases grouped by clinical area, so that each area's table can grow on its own."""
from __future__ import annotations

from tests.cards.golden_areas import neuro_medication, pad_circulation, rls, statin

AREAS = (statin, pad_circulation, rls, neuro_medication)
