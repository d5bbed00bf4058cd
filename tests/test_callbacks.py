import io
import json
import sys

import keras
import numpy as np

from tf_models.training import FirstStepTimer, progress_verbosity, training_callbacks
from tf_models.training.callbacks import BestModel


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_callbacks_write_their_files(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0, callbacks=training_callbacks(tmp_path))
    assert (tmp_path / "best.keras").exists()
    assert (tmp_path / "history.csv").read_text().count("\n") == 3  # header + 2 epochs
    assert any((tmp_path / "logs").rglob("*.v2"))


def test_best_model_keeps_its_best_score_across_a_resume(tmp_path):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    best = BestModel(tmp_path / "best.keras", monitor="loss")
    best.set_model(model)
    best.on_epoch_end(0, {"loss": 0.5})
    best.on_epoch_end(1, {"loss": float("nan")})  # never "better"
    assert json.loads((tmp_path / "best.json").read_text()) == {"loss": 0.5, "epoch": 1}
    # A resumed run's first epoch is worse than the best before the kill: kept.
    resumed = BestModel(tmp_path / "best.keras", monitor="loss", resume=True)
    resumed.set_model(model)
    resumed.on_epoch_end(2, {"loss": 0.9})
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 1
    resumed.on_epoch_end(3, {"loss": 0.4})
    assert json.loads((tmp_path / "best.json").read_text()) == {"loss": 0.4, "epoch": 4}
    # A fresh start (no resume) does not compare with another run's best.
    fresh = BestModel(tmp_path / "best.keras", monitor="loss")
    fresh.set_model(model)
    fresh.on_epoch_end(0, {"loss": 0.9})
    assert json.loads((tmp_path / "best.json").read_text())["loss"] == 0.9
    assert not list(tmp_path.glob(".tmp-*"))  # no temporary file left


def test_first_step_timer_announces_tracing_once(capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[FirstStepTimer()])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "tracing" in lines[0] and lines[1].startswith("first step: traced and run in")


def test_progress_verbosity(monkeypatch):
    assert progress_verbosity(0) == 0 and progress_verbosity(1, io.StringIO()) == 1
    assert progress_verbosity(None, io.StringIO()) == 2  # a log file or a pipe: one line per epoch
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert progress_verbosity(None, Terminal()) == 1
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # a notebook
    assert progress_verbosity(None, Terminal()) == 2
