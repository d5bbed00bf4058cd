import keras
import numpy as np

from tf_models.training import training_callbacks


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
