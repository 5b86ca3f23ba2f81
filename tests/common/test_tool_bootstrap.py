"""The executables under tools/ run from a plain shell: they re-exec into the repo's .venv by themselves."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "python").exists(), reason="no .venv (run `make setup`)")
def test_tool_reexecs_into_venv_from_a_plain_shell(tmp_path):
    system_python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "METTA_NO_REEXEC", "PYTHONPATH")}
    script = tmp_path / "probe.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'tools')!r})\nimport _bootstrap\nprint(sys.prefix)\n"
    )
    out = subprocess.run([system_python, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip().splitlines()[-1]).resolve() == (REPO / ".venv").resolve()


def test_train_tool_help_runs_as_an_executable():
    env = {k: v for k, v in os.environ.items() if k not in ("METTA_NO_REEXEC",)}
    out = subprocess.run(
        [str(REPO / "tools" / "train.py"), "--help"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "train" in out.stdout.lower()
