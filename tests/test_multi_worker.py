"""A CLI job trained by two MultiWorkerMirroredStrategy workers on 127.0.0.1:
stopped by SIGTERM, then by SIGKILL, and started again each time with the
same command, it ends with exactly the weights of an uninterrupted run."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

STEPS, BACKUP_EVERY = 160, 20  # 4 epochs of 40 steps


def _free_ports(count=2):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import random

    rng = random.Random(7)
    words = "the cat sat on a mat and the dog ran far away from the house by the tree".split()
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n\n".join(
        "\n".join(" ".join(rng.choice(words) for _ in range(6)) + "." for _ in range(5)) for _ in range(12)) + "\n")
    return path


class Workers:
    """The same `train-lm` command in two processes, each with its TF_CONFIG."""

    def __init__(self, corpus, run, logs, seeds=(0, 0), corpora=None, tokens="characters", flags=(), start=(0, 1),
                 environ=None):
        ports = _free_ports()
        self.ports = ports
        self.logs = [logs.parent / f"{logs.name}{i}.log" for i in range(2)]
        self.processes = []
        for index in start:
            tf_config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                         "task": {"type": "worker", "index": index}}
            env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1",
                       **(environ or {}))
            command = [sys.executable, "-m", "tf_models", "train-lm", "--source", "files", "--document-files",
                       str((corpora or (corpus, corpus))[index]), "--tokens", tokens, "--preset", "test", "--sequence-length", "16", "--batch-size", "4",
                       "--steps", str(STEPS), "--backup-every", str(BACKUP_EVERY), "--dropout", "0.1",
                       "--held-out-documents", "2",
                       "--sample-length", "5", "--verbose", "2", "--seed", str(seeds[index]),
                       "--output-dir", str(run), *flags]
            with open(self.logs[index], "w") as log:
                self.processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))

    def output(self, index):
        return self.logs[index].read_text()

    def wait_for(self, text, index=0, timeout=240):
        deadline = time.time() + timeout
        while text not in self.output(index):
            assert time.time() < deadline, f"no {text!r} within {timeout}s:\n{self.output(index)[-3000:]}"
            assert self.processes[index].poll() is None, self.output(index)[-3000:]
            time.sleep(0.05)

    def wait(self, timeout=300):
        """Waits for both; kills both and fails past `timeout`. Returns the exit codes."""
        deadline = time.time() + timeout
        try:
            return [p.wait(timeout=max(deadline - time.time(), 1)) for p in self.processes]
        except subprocess.TimeoutExpired:
            for p in self.processes:
                p.kill()
            raise AssertionError(f"a worker still ran after {timeout}s:\n{self.output(0)[-2000:]}\n"
                                 f"{self.output(1)[-2000:]}")


def _weights(path):
    import keras

    import tf_models.models  # noqa: F401  (registers the classes)

    return keras.saving.load_model(path, compile=False).get_weights()


def test_a_run_stopped_by_sigterm_then_sigkill_resumes_to_the_uninterrupted_weights(tmp_path, corpus):
    reference = Workers(corpus, tmp_path / "reference", tmp_path / "reference")
    assert reference.wait() == [0, 0], reference.output(0)[-3000:] + reference.output(1)[-3000:]
    assert "(chief)" in reference.output(0) and "not the chief" in reference.output(1)
    assert sorted(p.name for p in (tmp_path / "reference").iterdir()) == [
        ".lock", ".lock-worker-1", "best.json", "best.keras", "causal_lm.keras", "characters.json", "config.json",
        "history.csv", "logs", "results.json"]

    run = tmp_path / "run"
    # SIGTERM on the worker that is not the chief, in epoch 2: both save and exit.
    first = Workers(corpus, run, tmp_path / "first")
    first.wait_for("Epoch 2/4")
    first.processes[1].send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == [143, 143]
    assert "stopped by SIGTERM" in first.output(0) and "stopped by SIGTERM" in first.output(1)

    # SIGKILL on the chief in epoch 3: the other worker fails instead of hanging.
    second = Workers(corpus, run, tmp_path / "second")
    second.wait_for("resuming from")
    resumed_at = int(second.output(0).split("after step ")[1].split()[0])
    assert 40 < resumed_at < 80, second.output(0)[-2000:]
    second.wait_for("Epoch 3/4")
    second.processes[0].send_signal(signal.SIGKILL)
    killed_at = time.time()
    codes = second.wait(timeout=180)
    assert codes[0] == -signal.SIGKILL and codes[1] != 0, second.output(1)[-3000:]
    assert time.time() - killed_at < 180

    third = Workers(corpus, run, tmp_path / "third")
    assert third.wait() == [0, 0], third.output(0)[-3000:] + third.output(1)[-3000:]
    # The last backup: the end of epoch 2, or step 100 if the kill came late.
    assert "after step 80 " in third.output(0) or "after step 100 " in third.output(0)
    assert not (run / "backup").exists() and not (run / "workertemp_1").exists()
    for expected, actual in zip(_weights(tmp_path / "reference" / "causal_lm.keras"),
                                _weights(run / "causal_lm.keras")):
        np.testing.assert_array_equal(actual, expected)


def test_workers_with_different_data_stop_at_once_with_the_reason(tmp_path, corpus):
    scratch = tmp_path / "scratch"  # the workers' temporary folders' parent
    scratch.mkdir()
    workers = Workers(corpus, tmp_path / "run", tmp_path / "differ", seeds=(0, 1), environ={"TMPDIR": str(scratch)})
    codes = workers.wait(timeout=180)
    for index in range(2):
        output = workers.output(index)
        assert codes[index] != 0 and "error: the workers' " in output and " differ" in output, output[-2000:]
    assert not list(scratch.glob("tf_models_worker_*"))  # removed on the error path too


def test_workers_share_the_chiefs_wordpiece_vocabulary(tmp_path, corpus):
    # Different text on each worker: each learns another vocabulary, the
    # chief's reaches both, and the check that follows stops them at the
    # first batch, not at the vocabulary.
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text().replace("cat", "bird").replace("dog", "horse"))
    workers = Workers(corpus, tmp_path / "run", tmp_path / "wordpiece", corpora=(corpus, other), tokens="wordpiece")
    codes = workers.wait(timeout=180)
    for index in range(2):
        output = workers.output(index)
        assert codes[index] != 0 and "error: the workers' first batch differ" in output, output[-2000:]


def test_a_stopped_peer_ends_the_other_worker_within_the_timeout_and_its_files_go(tmp_path, corpus):
    scratch = tmp_path / "scratch"  # the worker's temporary folder's parent
    scratch.mkdir()
    workers = Workers(corpus, tmp_path / "run", tmp_path / "stopped", flags=("--worker-timeout", "6"),
                      environ={"TMPDIR": str(scratch)})
    try:
        # Past the first step on both (its bound leaves room for tracing): then the chief freezes.
        workers.wait_for("first step: traced", index=0)
        workers.wait_for("first step: traced", index=1)
        workers.processes[0].send_signal(signal.SIGSTOP)
        stopped_at = time.time()
        assert workers.processes[1].wait(timeout=60) == -signal.SIGKILL
        assert time.time() - stopped_at < 6 + 10
    finally:
        workers.processes[0].kill()
        workers.processes[0].wait()
    output = workers.output(1)
    assert f"worker 1 waited more than 6 s for the other workers (worker 0 (127.0.0.1:{workers.ports[0]}))" \
        in output and "while training step" in output, output[-2000:]
    assert not list(scratch.glob("tf_models_worker_*")) and not (tmp_path / "run" / "workertemp_1").exists()


def test_a_peer_that_never_starts_ends_the_worker_within_the_timeout(tmp_path, corpus):
    workers = Workers(corpus, tmp_path / "run", tmp_path / "alone", flags=("--worker-timeout", "3"), start=(0,))
    started = time.time()
    assert workers.processes[0].wait(timeout=60) == -signal.SIGKILL
    assert time.time() - started < 30
    output = workers.output(0)
    assert f"the other workers (worker 1 (127.0.0.1:{workers.ports[1]})) while joining them" in output, output


@pytest.mark.parametrize("tf_config, message", [
    ("{cluster: 1}", "TF_CONFIG is not valid JSON"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}', "TF_CONFIG's task"),
    ('{"cluster": {"worker": ["a:1"], "evaluator": ["b:1"]}, "task": {"type": "evaluator", "index": 0}}',
     "its 'evaluator' task"),
])
def test_a_tf_config_that_cannot_work_is_a_one_line_error(tmp_path, corpus, tf_config, message):
    env = dict(os.environ, TF_CONFIG=tf_config, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-m", "tf_models", "train-lm", "--source", "files", "--document-files",
                           str(corpus), "--preset", "test", "--steps", "2", "--output-dir", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=120)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and last.startswith("error: TF_CONFIG") and message in last, done.stderr
