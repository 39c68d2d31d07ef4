"""Render the rules documentation from the rule registry, so that it is never written by hand twice.

`render_rules_markdown()` returns the Markdown that sits between the `<!-- rules:start -->` and
`<!-- rules:end -->` markers of README.md (section "Clinical rules"): per rule its id, version, topic, hooks, summary, what makes it fire,
what keeps it quiet, the data it reads, its thresholds (every module-level constant that carries a `# source:`
comment, with that source) and its references. `python -m cards.docs --write` regenerates the file;
`python -m cards.docs` prints the section. A test keeps the file and the registry in step.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

from cards import drug_effects, guidelines, registry
from cards.rule import Rule
from cards.topics import Topic

START = "<!-- rules:start -->"
END = "<!-- rules:end -->"
DOC_PATH = Path(__file__).resolve().parents[1] / "README.md"
SOURCE_TAG = re.compile(r"#\s*source:\s*", re.IGNORECASE)

_HEADER = """# Rules

What each clinical rule reads, what makes it fire, what keeps it quiet, its thresholds and their sources.
Everything between the markers below is generated from the rule registry (`cards/rules/*.py`) by
`python -m cards.docs --write`; edit the rule modules, not this text.

"""


def thresholds(module: ModuleType) -> list[tuple[str, str, str]]:
    """(name, value expression, source) for each module-level UPPER_CASE constant carrying a `# source:` comment."""
    text = inspect.getsource(module)
    lines = text.splitlines()
    found = []
    for node in ast.parse(text).body:
        target: str | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        if target is None or value is None or not target.isupper():
            continue
        source = _source_comment(lines, node.lineno, node.end_lineno or node.lineno)
        if source:
            found.append((target, ast.unparse(value), source))
    return found


def _source_comment(lines: list[str], first: int, last: int) -> str | None:
    """The `# source:` text on the statement's lines, else in the comment block right above it."""
    for line in lines[first - 1:last]:
        match = SOURCE_TAG.search(line)
        if match:
            return line[match.end():].strip()
    block: list[str] = []
    index = first - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        block.insert(0, lines[index].strip().lstrip("#").strip())
        index -= 1
    joined = " ".join(block)
    at = joined.lower().find("source:")
    return joined[at + len("source:"):].strip() if at >= 0 else None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rule_section(rule: Rule) -> str:
    module = sys.modules[rule.applies.__module__]
    out = [f"### {rule.topic.display} - `{rule.id}` {rule.version}", "",
           f"Topic code `{rule.topic.value}`; hooks: {', '.join(sorted(rule.hooks))}; module "
           f"`{module.__name__}`.", "", rule.summary, "",
           f"- **Fires when:** {rule.fires_when}", f"- **Quiet when:** {rule.quiet_when}"]
    reads = []
    if rule.analytes:
        reads.append("analytes " + ", ".join(f"`{a}`" for a in rule.analytes))
    if rule.valuesets:
        reads.append("value sets " + ", ".join(f"`{v}`" for v in rule.valuesets))
    if rule.drug_classes:
        reads.append("drug classes " + ", ".join(f"`{d}`" for d in rule.drug_classes))
    out.append(f"- **Reads:** {'; '.join(reads) if reads else 'data keys ' + ', '.join(rule.needs)}")
    rows = thresholds(module)
    if rows:
        out += ["", "| Threshold | Value | Source |", "|---|---|---|"]
        out += [f"| `{name}` | `{_cell(value)}` | {_cell(source)} |" for name, value, source in rows]
    out += ["", "References:"]
    for key in rule.references:
        g = guidelines.get(key)
        out.append(f"- {g.citation}. <{g.url}>")
    return "\n".join(out)


def render_rules_markdown() -> str:
    """The generated rules section (without the markers), rules ordered by topic then id."""
    order = {topic: index for index, topic in enumerate(Topic)}
    rules = sorted(registry.all_rules(), key=lambda r: (order[r.topic], r.id))
    intro = (f"{len(rules)} rules. Thresholds are module constants with their `# source:`; clinical codes live in "
             "the terminology value sets named under *Reads*.")
    return "\n\n".join(["## Rules", intro] + [_rule_section(r) for r in rules] + [_drug_effects()]) + "\n"


def _drug_effects() -> str:
    """The drug-class knowledge the medication-effect, restless-legs and electrolyte cards share."""
    out = ["### Drug effects (`cards/drug_effects.py`)", "",
           "| Drug class | Effect on the legs | Explains | Worsens RLS | Source |", "|---|---|---|---|---|"]
    for e in drug_effects.EFFECTS:
        labs = ", ".join(f"{analyte} {direction}" for analyte, direction in e.labs) or "-"
        if e.needs_lab:
            labs += " (listed only with it)"
        out.append(f"| `{e.drug_class}` | {_cell(e.mechanism)} | {labs} | {'yes' if e.worsens_rls else '-'} | "
                   f"{_cell(e.source)} |")
    return "\n".join(out)


def section_of(text: str) -> str | None:
    """The text between the markers of a document, or None when the markers are missing."""
    if START not in text or END not in text:
        return None
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def write(path: Path = DOC_PATH) -> None:
    """Regenerate the section in place (creating the file, with its header, when it does not exist)."""
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER + f"{START}\n{END}\n"
    if section_of(text) is None:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n{render_rules_markdown()}{END}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cards.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"regenerate {DOC_PATH}")
    args = parser.parse_args(argv)
    if args.write:
        if not (DOC_PATH.parent / "pyproject.toml").exists():
            parser.error("--write works in a source checkout only (README.md is not installed)")
        write()
        print(f"wrote {DOC_PATH}")
    else:
        sys.stdout.write(render_rules_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
