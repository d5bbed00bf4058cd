"""MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).parent / "scripts" / "multi_worker.py"


def _free_ports(count=2):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(out_dir, steps, pause):
    ports = _free_ports()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    return [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), str(i), str(ports[0]), str(ports[1]), str(out_dir), str(steps), str(pause)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(2)
    ]


def _weights(path):
    with np.load(path) as data:
        return [data[key] for key in sorted(data.files, key=lambda k: int(k.split("_")[1]))]


def test_two_workers_end_with_identical_weights(tmp_path):
    workers = _start_workers(tmp_path, steps=5, pause=0)
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    first, second = _weights(tmp_path / "weights0.npz"), _weights(tmp_path / "weights1.npz")
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)  # one all-reduced update, applied on both
    assert (tmp_path / "progress0.txt").read_text().split() == ["0", "1", "2", "3", "4"]


def test_a_killed_worker_makes_the_other_fail_instead_of_hanging(tmp_path):
    workers = _start_workers(tmp_path, steps=10_000, pause=0.1)
    progress = tmp_path / "progress1.txt"
    deadline = time.time() + 240
    while not (progress.exists() and len(progress.read_text().split()) >= 3):
        assert time.time() < deadline, "training never started"
        assert workers[0].poll() is None and workers[1].poll() is None
        time.sleep(0.2)
    workers[1].send_signal(signal.SIGKILL)
    killed_at = time.time()
    try:
        output, _ = workers[0].communicate(timeout=180)
    except subprocess.TimeoutExpired:
        workers[0].kill()
        raise AssertionError("the surviving worker hung for 3 minutes after its peer died")
    assert workers[0].returncode != 0, output[-3000:]
    assert time.time() - killed_at < 180
    assert "done" not in output
