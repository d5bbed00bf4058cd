import io
import sys

import keras
import numpy as np

from tf_models.training import FirstStepTimer, progress_verbosity, training_callbacks


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
    assert not (tmp_path / "backup").exists()  # deleted after a complete run


def test_terminate_on_nan(tmp_path):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
    x = np.full((64, 1), 1e20, "float32")
    history = model.fit(x, x, batch_size=1, epochs=3, verbose=0,
                        callbacks=training_callbacks(tmp_path, monitor="loss", tensorboard=False))
    assert len(history.history["loss"]) == 1  # stopped in the first epoch


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
