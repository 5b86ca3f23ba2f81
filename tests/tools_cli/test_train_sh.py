"""devops/train.sh: the legacy wrapper runs tools/train.py with plain Python when there is at most one GPU."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_train_sh_forwards_overrides_to_the_tool(tmp_path):
    proc = subprocess.run(
        [str(REPO / "devops" / "train.sh"), "run=sh", f"data_dir={tmp_path}", "agent=mlp", "--cfg", "job"],
        cwd=tmp_path,
        env={**os.environ, "METTA_NO_REEXEC": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "torchrun" not in proc.stderr  # no multi-GPU here
    assert f"run_dir: {tmp_path}/sh" in proc.stdout and "name: mlp" in proc.stdout
