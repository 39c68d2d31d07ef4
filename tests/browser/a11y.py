"""Basic accessibility checks run inside the page: labels, keyboard focus, colour contrast (WCAG 2.x formulas)."""
from __future__ import annotations

from typing import Any

#: Form controls a user operates, without an accessible name (label element, aria-label or aria-labelledby).
UNLABELLED_CONTROLS_JS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.type !== 'button' && el.type !== 'reset')
  .filter(el => el.getClientRects().length > 0)
  .filter(el => !(el.labels && [...el.labels].some(l => l.textContent.trim()))
             && !(el.getAttribute('aria-label') || '').trim()
             && !(el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(
                  id => id && document.getElementById(id) && document.getElementById(id).textContent.trim()))
  .map(el => el.outerHTML.slice(0, 200))
"""

#: The focused element: a short description and whether its focus is drawn (outline or box-shadow).
FOCUSED_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
  const shadow = cs.boxShadow && cs.boxShadow !== 'none';
  return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name'),
          text: (el.textContent || el.value || '').trim().slice(0, 60), visible: outline || shadow};
}
"""

#: Text colour and the effective background colour (first opaque one up the tree) of an element, as [r, g, b, a].
COLOURS_JS = """
el => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const fg = parse(getComputedStyle(el).color);
  let node = el, bg = null;
  while (node && node.nodeType === 1) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c && c[3] > 0) { bg = c; break; }
    node = node.parentElement;
  }
  return {fg, bg: bg || [255, 255, 255, 1]};
}
"""


def _linear(channel: float) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb: list[float] | tuple[float, ...]) -> float:
    r, g, b = (_linear(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: list[float], bg: list[float]) -> float:
    """WCAG contrast ratio of fg over bg (fg blended over bg when translucent)."""
    alpha = fg[3] if len(fg) > 3 else 1.0
    blended = [fg[i] * alpha + bg[i] * (1 - alpha) for i in range(3)]
    hi, lo = sorted((luminance(blended), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_contrast(locator: Any) -> float:
    colours = locator.evaluate(COLOURS_JS)
    return contrast(colours["fg"], colours["bg"])


def unlabelled_controls(page: Any) -> list[str]:
    return list(page.evaluate(UNLABELLED_CONTROLS_JS))


def tab_through(page: Any, presses: int) -> list[dict[str, Any]]:
    """Press Tab `presses` times from the top of the page; what had focus after each press."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused:
            seen.append(focused)
    return seen


def parse_rgb(css: str) -> list[float]:
    """`rgb(1, 2, 3)` / `rgba(1, 2, 3, 0.5)` -> [1, 2, 3, a]."""
    inner = css[css.index("(") + 1: css.rindex(")")]
    parts = [float(p) for p in inner.replace("/", " ").replace(",", " ").split()]
    return parts + [1.0] if len(parts) == 3 else parts
