"""Typed mapping table and severity rules (loaded from ``mapping.yaml`` / ``rules.yaml`` next to this module)."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import Field, ValidationError

from metta.common.config_base import FrozenConfig
from metta.common.errors import ConfigError

HERE = Path(__file__).resolve().parent
DEFAULT_MAPPING = HERE / "mapping.yaml"
DEFAULT_RULES = HERE / "rules.yaml"

Severity = Literal["critical", "major", "minor", "info"]
SEVERITY_RANK: dict[str, int] = {"critical": 3, "major": 2, "minor": 1, "info": 0}


_M = TypeVar("_M", bound=FrozenConfig)


Verdict = Literal["inert", "launcher", "covered", "cosmetic", "real"]


class PatternAlias(FrozenConfig):
    match: str = Field(min_length=1, description="Regular expression over a whole dotted path.")
    canonical: str = Field(min_length=1, description="Replacement (re.sub syntax, e.g. \\1).")


class OneSided(FrozenConfig):
    """Verdict for a key that only one tree has."""

    path: str = Field(min_length=1, description="Dotted path of the key or block (`*` = one segment).")
    verdict: Verdict = Field(description="inert, launcher, cosmetic or real.")
    feature: str = Field(default="", description="Feature name used in the 'not implemented' message.")
    inert_if: dict[str, Any] = Field(default_factory=dict, description="subpath -> allowed values (inert verdict)")
    reason: str = Field(default="", description="Why the key does not (or does) change training.")
    severity: Severity = Field(default="major", description="Severity of a `real` verdict.")
    doc: str = Field(default="", description="Docs section explaining a deliberate difference.")
    jobs: tuple[str, ...] = Field(default=(), description="Config names this entry applies to (empty = all).")


class Caveat(FrozenConfig):
    """A setting whose Hydra-era code behaved differently although both trees spell it the same."""

    path: str = Field(min_length=1, description="Dotted path (or block) of the setting.")
    when: tuple[Any, ...] | None = Field(default=None, description="Hydra-era values it applies to (None = any).")
    severity: Severity = Field(default="major", description="Severity of the behaviour difference.")
    why: str = Field(min_length=1, description="What behaves differently.")
    doc: str = Field(default="", description="Docs section that explains it.")


class MappingTable(FrozenConfig):
    """Aliases (either tree's path or subtree) → canonical path (the typed TrainJobConfig layout)."""

    version: int = Field(ge=1, description="Version of the table; bump when an entry changes.")
    aliases: dict[str, str] = Field(default_factory=dict, description="alias path -> canonical path")
    job_aliases: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="config name -> extra aliases for that job (they win over `aliases`)"
    )
    pattern_aliases: tuple[PatternAlias, ...] = Field(default=(), description="regex renames of whole paths")
    one_sided: tuple[OneSided, ...] = Field(default=(), description="verdicts for keys only one tree has")
    caveats: tuple[Caveat, ...] = Field(default=(), description="same spelling, different Hydra-era behaviour")
    target_fields: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="_target_ class name -> fields that replace it (e.g. schedule type)"
    )


class Tolerance(FrozenConfig):
    rel: float = Field(default=1e-9, ge=0, le=1, description="Relative tolerance for numbers.")
    abs: float = Field(default=1e-12, ge=0, description="Absolute tolerance for numbers.")
    log_scale_patterns: tuple[str, ...] = Field(default=(), description="Paths compared on a log10 scale.")
    log_tol: float = Field(default=1e-6, ge=0, le=10, description="Max |log10(a/b)| still counted equal.")


class SubsystemRule(FrozenConfig):
    name: str = Field(min_length=1, description="Subsystem shown in the report.")
    patterns: tuple[str, ...] = Field(min_length=1, description="Globs over canonical dotted paths.")


class SeverityRule(FrozenConfig):
    pattern: str = Field(min_length=1, description="Glob over canonical dotted paths.")
    severity: Severity = Field(description="Severity of any difference at a matching path.")
    why: str = Field(default="", description="Short reason shown in the report.")
    doc: str = Field(default="", description="Docs section explaining a deliberate difference.")
    jobs: tuple[str, ...] = Field(default=(), description="Config names this rule applies to (empty = all).")


class Rules(FrozenConfig):
    """Severity and grouping rules; the first matching rule wins."""

    version: int = Field(ge=1, description="Version of the rules file.")
    default_severity: Severity = Field(default="major", description="Severity when no rule matches.")
    default_subsystem: str = Field(default="configuration resolution", description="Group when nothing matches.")
    tolerance: Tolerance = Field(default_factory=Tolerance, description="Numeric comparison.")
    report_order: tuple[str, ...] = Field(default=(), description="Order of subsystems in the report.")
    subsystems: tuple[SubsystemRule, ...] = Field(default=(), description="Path → subsystem.")
    severity: tuple[SeverityRule, ...] = Field(default=(), description="Path → severity.")

    def severity_of(self, path: str, job: str = "") -> tuple[str, str]:
        rule = self.rule_of(path, job)
        return (rule.severity, rule.why) if rule else (self.default_severity, "")

    def rule_of(self, path: str, job: str = "") -> SeverityRule | None:
        for rule in self.severity:
            if (not rule.jobs or job in rule.jobs) and fnmatch.fnmatchcase(path, rule.pattern):
                return rule
        return None

    def subsystem_of(self, path: str) -> str:
        for rule in self.subsystems:
            if any(fnmatch.fnmatchcase(path, p) for p in rule.patterns):
                return rule.name
        return self.default_subsystem

    def is_log_scale(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in self.tolerance.log_scale_patterns)


def _load_yaml(path: Path, what: str) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} file {path} must hold a mapping")
    return data


def _load_model(model: type[_M], path: str | Path | None, default: Path, what: str) -> _M:
    """Validate the YAML file ``path`` (``default`` when None) as ``model``; errors name the file."""
    p = Path(path) if path else default
    try:
        return model.model_validate(_load_yaml(p, what))
    except ValidationError as exc:
        raise ConfigError(f"invalid {what} file {p}: {exc}") from exc


def load_rules(path: str | Path | None = None) -> Rules:
    return _load_model(Rules, path, DEFAULT_RULES, "rules")


def load_mapping(path: str | Path | None = None) -> MappingTable:
    return _load_model(MappingTable, path, DEFAULT_MAPPING, "mapping")
