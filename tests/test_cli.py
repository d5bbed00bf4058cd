import os
import subprocess
import sys


def test_demo_trains_saves_and_reloads(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-m", "tf_models", "demo", "--steps", "40", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Smoke demo done" in result.stdout
    assert result.stdout.count("reloaded outputs identical: True") == 2
    assert (tmp_path / "transformer.keras").exists()
    assert (tmp_path / "bert_classifier.keras").exists()
