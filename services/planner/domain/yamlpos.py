"""YAML with the line of every value: now `services/kit/yamlpos.py`, shared with the platform
mapping files (services/kit/mapping/); this name is kept for the planner's imports."""

from services.kit.yamlpos import Located, Path, YamlError, load, problem_zh

__all__ = ["Located", "Path", "YamlError", "load", "problem_zh"]
