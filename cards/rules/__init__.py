"""One clinical rule per module; each exposes RULE (see cards.rule.Rule)."""
