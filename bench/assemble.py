"""Assemble BENCHMARKS.md from the per-service result notes in bench/results/.

Each note is written by whoever ran that benchmark, with the exact command and the figures it
printed; this only puts them under one roof: `python bench/assemble.py`.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["registry", "planner", "draw", "publisher", "web", "stats", "fuzz", "scale"]
ISSUES = {
    "registry": 3,
    "planner": 4,
    "draw": 5,
    "publisher": 6,
    "web": 14,
    "stats": 13,
    "fuzz": 17,
    "scale": 18,
}
HEADER = """# Benchmarks

Figures measured on the project's 2-core machine, which other work shares: ratios to a
baseline measured in the same run matter more than absolute times. Each section gives the
exact command that produced its figures; the tests never assert timings. Regenerate this
file from `bench/results/*.md` with `python bench/assemble.py`.
"""


def render() -> str:
    """BENCHMARKS.md as the notes make it."""
    parts = [HEADER]
    for name in ORDER:
        path = ROOT / "bench" / "results" / f"{name}.md"
        if not path.exists():
            parts.append(f"\n## {name} (issue {ISSUES[name]})\n\nNot measured yet.\n")
            continue
        body = path.read_text(encoding="utf-8").strip().split("\n", 1)
        title = body[0].lstrip("# ").strip()
        parts.append(f"\n## {title} (issue {ISSUES[name]})\n\n{body[1].strip()}\n")
    return "".join(parts)


def main() -> None:
    """Write BENCHMARKS.md."""
    (ROOT / "BENCHMARKS.md").write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
