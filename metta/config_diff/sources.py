"""Where a side of the comparison comes from: a recipe, a YAML/JSON dump, a configs directory, or a git ref."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metta.common.errors import ConfigError
from metta.config_diff.hydra_side import resolve_hydra
from metta.config_diff.tree import Tree

RECIPE_TIMEOUT_S = 300


class RecipeJob:
    """A recipe dump running in a child process; :meth:`result` waits for it and returns the Tree."""

    def __init__(self, target: str, root: str | Path, args: Sequence[str] = (), label: str | None = None) -> None:
        self.target, self.root, self.label = target, Path(root).resolve(), label
        self._tmp = tempfile.TemporaryDirectory(prefix="config_diff_recipe_")
        self._out = Path(self._tmp.name) / "dump.json"
        script = Path(__file__).with_name("recipe_dump.py")
        self._proc = subprocess.Popen(
            [sys.executable, str(script), str(self.root), target, str(self._out), *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> Tree:
        try:
            stdout, stderr = self._proc.communicate(timeout=RECIPE_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            self._proc.kill()
            self._proc.communicate()
            raise ConfigError(f"recipe {self.target} did not finish within {RECIPE_TIMEOUT_S}s") from exc
        try:
            if not self._out.is_file():
                tail = (stderr or stdout).strip().splitlines()[-5:]
                raise ConfigError(f"recipe {self.target} crashed (exit {self._proc.returncode}): {' | '.join(tail)}")
            result = json.loads(self._out.read_text(encoding="utf-8"))
        finally:
            self._tmp.cleanup()
        return _recipe_tree(result, self.target, self.root, self.label)


def start_recipe(target: str, root: str | Path, args: Sequence[str] = (), label: str | None = None) -> RecipeJob:
    """Start importing ``target`` (``module.function``) with ``root`` first on sys.path in a child process."""
    return RecipeJob(target, root, args, label)


def resolve_recipe(target: str, root: str | Path, args: Sequence[str] = (), label: str | None = None) -> Tree:
    """Import ``target`` (``module.function``) with ``root`` first on sys.path in a child process; dump its Tool."""
    return start_recipe(target, root, args, label).result()


def _recipe_tree(result: dict[str, Any], target: str, root: Path, label: str | None) -> Tree:
    if not result["ok"]:
        raise ConfigError(f"recipe {target} (under {root}) raised {result['error']}\n{result.get('traceback', '')}")
    if not isinstance(result["data"], dict):
        raise ConfigError(f"recipe {target} returned {result.get('type')}, which does not dump to a mapping")
    raw = result.get("provenance", {})
    marker = "schema-default:"
    return Tree(
        label=label or f"recipe:{target}",
        kind="recipe",
        data=result["data"],
        source={"target": target, "root": str(root), "type": result.get("type")},
        provenance={k: v for k, v in raw.items() if not k.startswith(marker)},
        schema_defaults=frozenset(k[len(marker) :] for k in raw if k.startswith(marker)),
    )


def load_dump(path: str | Path, label: str | None = None) -> Tree:
    """A YAML or JSON file holding one resolved tree (interpolations are resolved with the safe resolvers)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"dump file {p} does not exist")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix == ".json":
            data: Any = json.loads(text)
        else:
            from omegaconf import OmegaConf

            from metta.config_diff.hydra_side import _to_plain
            from metta.config_diff.resolvers import safe_resolvers

            notes: list[str] = []
            with safe_resolvers():
                data = _to_plain(OmegaConf.create(text), "", notes)
    except Exception as exc:  # any parse failure of user input becomes a ConfigError naming the file
        raise ConfigError(f"cannot parse {p} as {'JSON' if p.suffix == '.json' else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p} does not hold a mapping at top level")
    from metta.config_diff.hydra_side import STRIPPED_KEYS, _target_fields
    from metta.config_diff.tree import strip_keys

    data.pop("hydra", None)
    data, removed = strip_keys(data, STRIPPED_KEYS, target_fields=_target_fields())
    stripped = (f"stripped {len(removed)} Hydra-only keys (_target_ etc.)",) if removed else ()
    return Tree(label=label or f"file:{p}", kind="dump", data=data, source={"file": str(p)}, notes=stripped)


def resolve_path(path: str | Path, config_name: str, overrides: Sequence[str] = ()) -> Tree:
    """A directory is a Hydra configs tree; a file is a dump."""
    p = Path(path)
    if p.is_dir():
        return resolve_hydra(p, config_name, overrides, label=f"hydra:{p}")
    return load_dump(p)


LEGACY_REPO_ENV = "METTA_LEGACY_REPO"


def _git(repo: str | Path, *args: str) -> subprocess.CompletedProcess:
    """``git -C repo ...``; works for a work tree and for a bare git directory alike."""
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)


def git_root(repo: str | Path) -> Path:
    """The work tree root of ``repo``, or the git directory itself when ``repo`` is a bare repository."""
    proc = _git(repo, "rev-parse", "--show-toplevel")
    if proc.returncode == 0 and proc.stdout.strip():
        return Path(proc.stdout.strip())
    bare = _git(repo, "rev-parse", "--is-bare-repository")
    if bare.returncode == 0 and bare.stdout.strip() == "true":
        return Path(repo).resolve()
    raise ConfigError(f"{repo} is not a git repository (work tree or bare git dir): {proc.stderr.strip()}")


def resolve_commit(repo: str | Path, ref: str) -> str:
    proc = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if proc.returncode != 0:
        hint = (
            f"; for a Hydra-era ref such as 724cde8 give a clone of the upstream repository with --repo PATH "
            f"or set {LEGACY_REPO_ENV}=PATH (a bare git dir works too)"
        )
        raise ConfigError(f"git ref {ref!r} does not name a commit in {repo}{hint}")
    return proc.stdout.strip()


def has_commit(repo: str | Path, ref: str) -> bool:
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0


def export_ref(repo: str | Path, ref: str, dest: str | Path, paths: Sequence[str] = ("configs",)) -> list[str]:
    """``git archive REF <paths>`` unpacked into ``dest`` (the work tree is untouched). Returns the paths exported."""
    commit = resolve_commit(repo, ref)
    exported = []
    for path in paths:
        if _git(repo, "cat-file", "-e", f"{commit}:{path}").returncode != 0:
            continue
        proc = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", commit, path], capture_output=True, check=False
        )
        if not proc.stdout:
            continue
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            tar.extractall(dest, filter="data")
        exported.append(path)
    if not exported:
        raise ConfigError(f"commit {ref} ({commit[:10]}) of {repo} has none of {list(paths)}")
    return exported
