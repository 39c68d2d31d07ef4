"""The project's card-topic CodeSystem: a fixed interface (source.topic on every card)."""
from __future__ import annotations

from enum import Enum

from cards.model import Coding

TOPIC_SYSTEM = "https://leg-pain-cds.org/fhir/CodeSystem/card-topic"


class Topic(str, Enum):
    ELECTROLYTE_IMBALANCE = "electrolyte-imbalance"
    DIURETIC_EFFECT = "diuretic-effect"
    STATIN_MUSCLE_SYMPTOMS = "statin-muscle-symptoms"
    PERIPHERAL_ARTERY_DISEASE = "peripheral-artery-disease"
    MEDICATION_EFFECT = "medication-effect"
    RESTLESS_LEGS = "restless-legs"
    DEHYDRATION = "dehydration"
    NERVE_COMPRESSION = "nerve-compression"
    SPINAL_STENOSIS = "spinal-stenosis"
    POOR_CIRCULATION = "poor-circulation"

    @property
    def display(self) -> str:
        return _DISPLAY[self]

    def coding(self) -> Coding:
        return Coding(system=TOPIC_SYSTEM, code=self.value, display=self.display)


_DISPLAY = {
    Topic.ELECTROLYTE_IMBALANCE: "Electrolyte imbalance",
    Topic.DIURETIC_EFFECT: "Diuretic effect",
    Topic.STATIN_MUSCLE_SYMPTOMS: "Statin-associated muscle symptoms",
    Topic.PERIPHERAL_ARTERY_DISEASE: "Peripheral artery disease",
    Topic.MEDICATION_EFFECT: "Medication side effect",
    Topic.RESTLESS_LEGS: "Restless legs syndrome",
    Topic.DEHYDRATION: "Dehydration",
    Topic.NERVE_COMPRESSION: "Nerve compression",
    Topic.SPINAL_STENOSIS: "Lumbar spinal stenosis",
    Topic.POOR_CIRCULATION: "Poor circulation",
}
