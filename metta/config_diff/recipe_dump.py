"""Child-process half of the recipe side: import ``module.function`` under a given root and dump its Tool as JSON.

Run as a script (``python recipe_dump.py ROOT TARGET OUT [k=v ...]``) so that a recipe from another checkout (a git
ref unpacked into a temp dir) is imported with *that* checkout first on ``sys.path``, isolated from the calling
process. It writes ``{"ok": true, "data": ..., "provenance": ...}`` or ``{"ok": false, "error": ...}`` to OUT and
never imports metta itself at module level.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import sys
import traceback
from typing import Any

SCHEMA_DEFAULT_PREFIX = "schema-default:"


def _field_default(field: Any) -> Any:
    from pydantic_core import PydanticUndefined

    if field.default is not PydanticUndefined:
        return field.default
    if field.default_factory is not None:
        try:
            return field.default_factory()
        except TypeError:
            return PydanticUndefined
    return PydanticUndefined


def _dump(value: Any) -> Any:
    from pydantic import BaseModel, TypeAdapter

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return TypeAdapter(type(value)).dump_python(value, mode="json")


def _source_lines(func: Any) -> tuple[str, list[str]]:
    try:
        return inspect.getsourcefile(func) or "?", inspect.getsourcelines(func)[0]
    except (OSError, TypeError):
        return "?", []


def _where_set(name: str, src_file: str, module_lines: list[str]) -> str | None:
    pattern = re.compile(rf"\b{re.escape(name)}\s*[=:]")
    for i, line in enumerate(module_lines, start=1):
        if pattern.search(line):
            return f"{src_file}:{i}: {line.strip()}"
    return None


def provenance(model: Any, target: str, src_file: str, module_lines: list[str], prefix: str = "") -> dict[str, str]:
    """For every field of a pydantic model tree: set by the recipe (file:line when found) or the class default."""
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    out: dict[str, str] = {}
    for name, field in type(model).model_fields.items():
        path = f"{prefix}{name}"
        value = getattr(model, name)
        default = _field_default(field)
        cls = type(model).__name__
        if isinstance(value, BaseModel):
            out[path] = f"{type(value).__name__} (set in {target})"
            out.update(provenance(value, target, src_file, module_lines, prefix=f"{path}."))
            continue
        if isinstance(value, dict) and any(isinstance(v, BaseModel) for v in value.values()):
            out[path] = f"mapping (set in {target})"
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    out.update(provenance(item, target, src_file, module_lines, prefix=f"{path}.{key}."))
            continue
        is_default = default is not PydanticUndefined and _dump(default) == _dump(value)
        if name not in model.model_fields_set:
            out[path] = f"default of {cls}.{name}"
        else:
            where = _where_set(name, src_file, module_lines)
            out[path] = f"set by recipe {target}" + (f" ({where})" if where else "")
            if is_default:
                out[path] += f" (equal to the default of {cls}.{name})"
        if is_default:
            out[SCHEMA_DEFAULT_PREFIX + path] = "1"
    return out


def main(argv: list[str]) -> int:
    root, target, out_path, *kv = argv
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]  # our siblings must not shadow modules
    sys.path.insert(0, root)
    result: dict[str, Any]
    try:
        module_name, _, func_name = target.rpartition(".")
        if not module_name:
            raise ValueError(f"recipe target {target!r} must be module.function")
        module = importlib.import_module(module_name)
        func = getattr(module, func_name, None)
        if func is None or not callable(func):
            raise ValueError(f"{module_name} has no function {func_name!r}")
        kwargs = dict(item.split("=", 1) for item in kv if not item.startswith("?"))
        params = inspect.signature(func).parameters
        for item in kv:  # "?name=value": a soft default, used only when the function takes `name` and it is unset
            if item.startswith("?"):
                name, value = item[1:].split("=", 1)
                if name in params and name not in kwargs:
                    kwargs[name] = value
        tool = func(**kwargs)
        data = _dump(tool)
        src_file, _ = _source_lines(func)
        try:
            module_lines = inspect.getsourcelines(module)[0]
        except (OSError, TypeError):
            module_lines = []
        prov = provenance(tool, target, src_file, module_lines) if hasattr(type(tool), "model_fields") else {}
        result = {"ok": True, "data": data, "provenance": prov, "type": type(tool).__name__}
    except BaseException as exc:  # noqa: BLE001 - the parent reports any failure of recipe code as a clear error
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": "".join(tb[-6:])}
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
