"""Order-time diuretic check (review 14, item 5): a drafted spironolactone on a high potassium is not started - no
"recheck after starting it" beside "do not start"; other drafts keep the correct-first / recheck-after steps."""
from __future__ import annotations

from tests.cards.test_order_checks import FUROSEMIDE, SPIRONOLACTONE, draft, k, med, topic_card

T = "diuretic-effect"


def test_drafted_spironolactone_on_a_high_potassium_is_not_started() -> None:
    """Probe r8: K 5.9 on lisinopril, spironolactone drafted: "do not start" then "If the diuretic is needed, recheck
    ... after starting it"."""
    c = topic_card(T, k(5.9), med("29046", "lisinopril"), drafts=[draft(SPIRONOLACTONE)])
    assert c is not None
    detail = c.detail or ""
    assert "Do not start spironolactone" in detail
    assert "If the diuretic is needed" not in detail and "choose a diuretic that does not worsen it" not in detail
    assert "reconsider spironolactone only once potassium is back in range" in detail
    assert "Spasovski" not in detail  # no sodium finding: the hyponatraemia guideline is not cited


def test_drafted_loop_diuretic_on_a_low_potassium_keeps_the_correct_first_steps() -> None:
    c = topic_card(T, k(3.1), drafts=[draft(FUROSEMIDE)])
    assert c is not None
    detail = c.detail or ""
    assert "Correct the electrolyte first" in detail and "Do not start" not in detail
