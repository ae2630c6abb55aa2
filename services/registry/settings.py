"""Registry settings from the environment (prefix `SPOTCHECK_REGISTRY_`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.registry.domain.rows import Vocabulary


class RegistrySettings(BaseSettings):
    """What a province configures: its risk classes (A–D by default; Shandong uses A–E)."""

    model_config = SettingsConfigDict(env_prefix="SPOTCHECK_REGISTRY_", extra="ignore")

    risk_classes: str = "A,B,C,D"
    # Worker processes that parse and validate import chunks (0: in the service process).
    import_workers: int = 2
    # How often the registry looks whether the 两库 summary for the 监督平台 is due (it is sent
    # at most daily, when the counts changed; an import commit looks at once too).
    summary_check_s: float = 3600.0

    def vocabulary(self) -> Vocabulary:
        """The validation vocabulary with these risk classes."""
        classes = frozenset(c.strip().upper() for c in self.risk_classes.split(",") if c.strip())
        if not classes:
            raise ValueError("SPOTCHECK_REGISTRY_RISK_CLASSES must name at least one class")
        return Vocabulary(risk_classes=classes)
