"""A run killed with SIGKILL mid-epoch, restarted with the same command,
resumes from the step of its last backup and ends with exactly the weights
of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).parent / "scripts" / "resumable_training.py"


def _start(run_dir):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, str(SCRIPT), str(run_dir)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _weights(run_dir):
    with np.load(run_dir / "weights.npz") as data:
        return [data[key] for key in sorted(data.files, key=lambda k: int(k.split("_")[1]))]


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir()
    killed_dir.mkdir()
    reference = _start(reference_dir)
    killed = _start(killed_dir)
    progress = killed_dir / "progress.txt"
    deadline = time.time() + 240
    # Backups every 3 steps of 4-step epochs: kill in epoch 2 (0-based) after
    # its batch 1 (step 10), when the last backup is step 9's, mid-epoch.
    while time.time() < deadline and "epoch 2 batch 1" not in (progress.read_text() if progress.exists() else ""):
        assert killed.poll() is None, killed.stdout.read()
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert not (killed_dir / "weights.npz").exists()
    batches_before_kill = len(progress.read_text().splitlines())

    resumed = _start(killed_dir)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output[-3000:]
    assert "after step 9 (epoch 3, batch 2)" in output
    reference_output, _ = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_output[-3000:]

    # The resumed process trained the 20 - 9 steps left, nothing again but
    # what followed the last backup.
    lines = progress.read_text().splitlines()
    assert len(lines) - batches_before_kill == 20 - 9
    assert lines.count("epoch 1 batch 0") == 1 and lines[-1] == "epoch 4 batch 3"
    for expected, actual in zip(_weights(reference_dir), _weights(killed_dir)):
        np.testing.assert_array_equal(actual, expected)  # deterministic ops: exactly equal
