"""The one base class of every typed config, and the one way a pydantic validation error becomes a message.

Every config model derives from :class:`FrozenConfig` (unknown keys are errors, values are immutable). Every place
that validates user input goes through :func:`validate_model`, so messages look the same everywhere: one line per
problem, naming the dotted key, what is wrong and the value that was given.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from metta.common.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

_MAX_SHOWN = 80


class FrozenConfig(BaseModel):
    """Base of every config model: unknown keys are rejected and instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def format_validation_error(exc: ValidationError, what: str | None = None, prefix: str = "") -> str:
    """``"invalid <what> config: a.b = <value>: <why>; c = <value>: <why>"``.

    ``prefix`` is prepended to every location (e.g. ``"trainer."`` when a sub-model was validated on its own).
    Errors raised by our own validators carry their full message (key and value included) and are shown as they are.
    """
    parts = []
    for err in exc.errors():
        if err["type"] == "value_error" and "error" in err.get("ctx", {}):
            parts.append(str(err["ctx"]["error"]))
            continue
        loc = (prefix + ".".join(str(p) for p in err["loc"])).rstrip(".") or "(root)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc} = {_shown(err.get('input'))}: {msg}")
    body = "; ".join(parts)
    return f"invalid {what} config: {body}" if what else body


def validate_model(model: type[M], data: Any, what: str, prefix: str = "", error: type[ConfigError] = ConfigError) -> M:
    """``model.model_validate(data)``, with a validation error turned into ``error`` (a ConfigError) naming ``what``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(exc, what, prefix)) from exc
