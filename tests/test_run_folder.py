"""A run folder holds one run, whole: writes interrupted anywhere end, on
the same command again, exactly as an uninterrupted run; a diverging run
stops loudly; a second run into a busy folder and a resume with other
settings are refused."""

import errno
import json
import random
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_models import storage
from tf_models.cli import main
from tf_models.jobs import LanguageModelJob
from tf_models.jobs.run_folder import ResumeMismatch, RunFolderBusy, RunFolderLock

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away", "big", "small"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(3)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n\n".join(
        "\n".join(" ".join(rng.choice(WORDS) for _ in range(6)) + "." for _ in range(5)) for _ in range(12)) + "\n")
    return path


def lm_job(corpus, run, **options):
    """A language-model run of a few seconds that writes every kind of file
    a job writes (WordPiece vocabulary, backups, best.keras, model, results)."""
    # No prompts: sampling would trace a decoder in every run, which this test does not need.
    settings = dict(source="files", document_files=(str(corpus),), tokens="wordpiece", vocabulary_size=60,
                    preset="test", sequence_length=16, batch_size=4, steps=8, backup_every=4,
                    held_out_documents=2, prompts=(), sample_length=3, verbose=0, output_dir=str(run))
    return LanguageModelJob(**{**settings, **options})


def final_weights(run):
    return [np.asarray(w) for w in keras.saving.load_model(run / "causal_lm.keras").weights]


def failing_write(name):
    """A `storage._commit` that fails with a full disk when it is about to
    put `name` in place (the data is written, the rename never happens)."""
    commit = storage._commit

    def fake(temporary, path):
        if path.name == name:
            raise OSError(errno.ENOSPC, "No space left on device (injected)", str(path))
        commit(temporary, path)
    return fake


def test_a_write_interrupted_anywhere_then_the_same_command_ends_as_an_uninterrupted_run(corpus, tmp_path,
                                                                                         monkeypatch):
    reference = tmp_path / "reference"
    written = []
    commit = storage._commit
    monkeypatch.setattr(storage, "_commit", lambda temporary, path: (written.append(path.name),
                                                                     commit(temporary, path)))
    expected = lm_job(corpus, reference).run()
    monkeypatch.setattr(storage, "_commit", commit)
    names = list(dict.fromkeys(written))
    for name in ("config.json", "vocab.txt", "fingerprint.json", "best.keras", "causal_lm.keras", "results.json"):
        assert name in names, names
    for name in names:
        run = tmp_path / name
        monkeypatch.setattr(storage, "_commit", failing_write(name))
        with pytest.raises(OSError, match="No space left"):
            lm_job(corpus, run).run()
        monkeypatch.setattr(storage, "_commit", commit)
        assert not list(run.glob("**/.tmp-*")), name  # nothing half-written left behind
        results = lm_job(corpus, run).run()
        assert results["perplexity"] == expected["perplexity"], name
        for actual, wanted in zip(final_weights(run), final_weights(reference)):
            np.testing.assert_array_equal(actual, wanted, err_msg=name)
        assert not (run / "backup").exists()


def test_a_resume_keeps_the_vocabulary_and_refuses_other_settings(corpus, tmp_path, monkeypatch):
    text = tmp_path / "corpus.txt"
    text.write_text(corpus.read_text())
    run = tmp_path / "run"

    def interrupted(**options):  # killed once training is over, before the model is saved
        monkeypatch.setattr(storage, "_commit", failing_write("causal_lm.keras"))
        with pytest.raises(OSError):
            lm_job(text, run, **options).run()
        monkeypatch.undo()

    interrupted()
    vocabulary = (run / "vocab.txt").stat().st_ino
    with pytest.raises(ResumeMismatch, match=r"--batch-size 4 -> 8; --seed 0 -> 5\. .*--restart"):
        lm_job(text, run, seed=5, batch_size=8).run()
    assert (run / "backup").exists() and not (run / "results.json").exists()
    interrupted(verbose=2, sample_length=2)  # options that change nothing the training computes may differ
    assert (run / "vocab.txt").stat().st_ino == vocabulary  # read, never rewritten, by the resume
    # A damaged vocab.txt is learned again; from other text, that is another
    # vocabulary than the backup's: refused, not trained on.
    original = (run / "vocab.txt").read_text()
    (run / "vocab.txt").write_text(original[: len(original) // 2])
    text.write_text(corpus.read_text().replace("cat", "cow"))
    with pytest.raises(ResumeMismatch, match="another vocabulary"):
        lm_job(text, run).run()
    # From the same text, it is the backup's again: the run resumes and ends.
    text.write_text(corpus.read_text())
    assert lm_job(text, run).run()["perplexity"] > 1 and (run / "vocab.txt").read_text() == original
    # --restart: other settings start afresh, in the same folder.
    interrupted()
    results = lm_job(text, run, seed=5, restart=True).run()
    assert json.loads((run / "config.json").read_text())["seed"] == 5 and results["perplexity"] > 1


def test_a_diverging_run_stops_at_its_step_and_keeps_only_finite_backups(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as stopped:
        main(["train-lm", *[str(a) for a in _flags(corpus, run)], "--peak-learning-rate", "1e15",
              "--backup-every", "1"])
    message = str(stopped.value)
    assert message.startswith("error: training diverged at step ") and "--peak-learning-rate" in message
    assert "[train] done" not in capsys.readouterr().out
    assert not (run / "causal_lm.keras").exists() and not (run / "results.json").exists()
    latest = tf.train.latest_checkpoint(str(run / "backup"))
    if latest:  # any backup taken holds finite weights only
        reader = tf.train.load_checkpoint(latest)
        for name in reader.get_variable_to_shape_map():
            value = reader.get_tensor(name)
            if np.issubdtype(np.asarray(value).dtype, np.floating):
                assert np.isfinite(value).all(), name


def _flags(corpus, run):
    return ["--source", "files", "--document-files", corpus, "--tokens", "wordpiece", "--vocabulary-size", "60",
            "--preset", "test", "--sequence-length", "16", "--batch-size", "4", "--steps", "12",
            "--held-out-documents", "2", "--sample-length", "3", "--verbose", "0", "--output-dir", run]


def test_a_second_run_into_a_busy_folder_stops_at_once_naming_the_holder(corpus, tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from tf_models.jobs.run_folder import RunFolderLock; "
         f"lock = RunFolderLock({str(run)!r}).acquire(); print('locked', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.time()
        with pytest.raises(SystemExit, match=rf"in use by another run \(process {holder.pid} on"):
            main(["train-lm", *[str(a) for a in _flags(corpus, run)]])
        assert time.time() - started < 10
        assert run.is_dir() and not (run / "config.json").exists()  # nothing of the holder's touched
    finally:
        holder.kill()
        holder.wait()
    with RunFolderLock(run):  # the operating system released the dead holder's lock
        pass
    # Workers of one run lock their own roles.
    with RunFolderLock(run), RunFolderLock(run, "worker 1"):
        with pytest.raises(RunFolderBusy):
            RunFolderLock(run, "worker 1").acquire()
