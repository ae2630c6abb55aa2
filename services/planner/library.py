"""The planner's rule directory as a library, for callers outside the service.

`spotcheck rules check` / `rules test` and `publisher due-date` run offline, and `spotcheck
demo` checks the shipped rules before it activates them: they read, check and test a rule
directory with exactly the code the planner runs when a rule set is activated, through this
module and nothing else of the planner. It only gathers the pure domain (`domain/ruleset.py`,
`domain/casetests.py`, `domain/engine.py`) and the file reader (`rulefiles.py`); it never
touches the planner's wiring, store or messages.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.planner.domain.casetests import CaseResult, parse_cases, run_cases
from services.planner.domain.engine import RuleEngine
from services.planner.domain.ruleset import RuleError, RuleSet, check_files, holiday_schedules
from services.planner.rulefiles import case_files, read_rule_dir

__all__ = [
    "CaseResult",
    "RuleError",
    "RuleSet",
    "check_files",
    "holiday_schedules",
    "read_rule_dir",
    "run_rule_tests",
]


def run_rule_tests(
    files: Mapping[str, bytes], ruleset: RuleSet
) -> tuple[list[CaseResult], list[RuleError]]:
    """Run the cases of the directory's `tests/*.yaml` against `ruleset` (checked from the same
    `files`): every result in file order, and every error of a case file that does not parse.
    The rule engine is started for the run and closed after it."""
    cases, errors = parse_cases(case_files(dict(files)))
    engine = RuleEngine(ruleset)
    try:
        results = run_cases(cases, ruleset, engine.evaluate)
    finally:
        engine.close()
    return results, errors
