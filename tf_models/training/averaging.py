"""Checkpoint averaging: evaluate the mean of the weights at the last few
epoch ends instead of the last weights.

Vaswani et al. (2017, section 6.1) evaluated their base models with the
mean of the weights of their last 5 checkpoints. Late in training, with the learning rate
still well above zero, each step moves the weights to and fro across a
valley of the loss; their mean lies nearer its floor than any one of them.
It costs a weights file per epoch and nothing per step.
"""

from pathlib import Path

import keras
import numpy as np

from tf_models import storage


def snapshot_path(directory, epoch):
    """The file `EpochSnapshots` writes at the end of `epoch` (counted from 1)."""
    return Path(directory) / f"epoch_{epoch:04d}.weights.h5"


def snapshot_paths(directory):
    """The snapshots in `directory`, oldest first, as `{epoch: path}`.

    Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for epoch in (12, 3):
    ...     snapshot_path(folder, epoch).touch()
    >>> list(snapshot_paths(folder))
    [3, 12]
    """
    paths = {int(path.name.removeprefix("epoch_").removesuffix(".weights.h5")): path
             for path in Path(directory).glob("epoch_*.weights.h5")}
    return dict(sorted(paths.items()))


class EpochSnapshots(keras.callbacks.Callback):
    """Saves the model's weights at each epoch end, keeping the last `keep`.

    An interrupted run that resumes writes the files of the epochs it
    finishes, with the same names: with exact resumption (`fit_resumable`)
    they hold the same weights as an uninterrupted run's.

    Args:
        directory: where the `epoch_NNNN.weights.h5` files go.
        keep: how many of the latest files to keep (`None`: all of them).

    Example:
    >>> import tempfile, numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> folder = tempfile.mkdtemp()
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0,
    ...               callbacks=[EpochSnapshots(folder, keep=2)])
    >>> sorted(path.name for path in Path(folder).iterdir())
    ['epoch_0002.weights.h5', 'epoch_0003.weights.h5']
    """

    def __init__(self, directory, keep=None):
        super().__init__()
        self.directory = Path(directory)
        self.keep = keep

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        storage.save_weights(self.model, snapshot_path(self.directory, epoch + 1))  # a kill leaves no half file
        if self.keep:
            for old in list(snapshot_paths(self.directory).values())[: -self.keep]:
                old.unlink()


def average_weights(model, paths):
    """Sets `model`'s trainable weights to their mean over the weights files `paths`.

    The mean is taken in float64 and stored in each variable's own dtype
    (float32 under a mixed policy too). Variables that are not trained (the
    dropout seed states) keep the values of the last file.

    Args:
        model: the model the files were saved from.
        paths: `.weights.h5` files, oldest first (`EpochSnapshots`').

    Example:
    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    >>> folder = tempfile.mkdtemp()
    >>> for epoch, value in ((1, 1.0), (2, 3.0)):
    ...     model.set_weights([np.full((1, 1), value)])
    ...     model.save_weights(str(snapshot_path(folder, epoch)))
    >>> average_weights(model, [snapshot_path(folder, 1), snapshot_path(folder, 2)])
    >>> float(model.get_weights()[0][0, 0])
    2.0
    """
    paths = [str(path) for path in paths]
    if not paths:
        raise ValueError("average_weights needs at least one weights file.")
    total = None
    for path in paths:
        model.load_weights(path)
        values = [np.asarray(keras.ops.convert_to_numpy(v.value), np.float64) for v in model.trainable_variables]
        total = values if total is None else [t + v for t, v in zip(total, values)]
    # The last file was loaded last: the other variables keep its values.
    for variable, summed in zip(model.trainable_variables, total):
        variable.assign((summed / len(paths)).astype(variable.dtype))
