import keras
import numpy as np

from tf_models.training import bert_optimizer, transformer_optimizer


def _tiny_model():
    inputs = keras.Input((4,))
    x = keras.layers.Dense(4, name="dense")(inputs)
    x = keras.layers.LayerNormalization(name="norm")(x)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(x))


def test_transformer_adam_settings():
    optimizer = transformer_optimizer(1e-3)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.9, 0.98, 1e-9)


def test_adamw_decays_kernels_but_not_layer_norm_or_biases():
    model = _tiny_model()
    for layer in model.layers[1:]:
        for weight in layer.weights:
            weight.assign(np.full(weight.shape, 2.0, "float32"))
    optimizer = bert_optimizer(0.1, weight_decay=0.5)
    before = {w.path: np.asarray(w) for w in model.trainable_weights}
    # Zero gradients: Adam moves nothing, so any change is weight decay.
    optimizer.apply_gradients(
        [(np.zeros(w.shape, "float32"), w) for w in model.trainable_weights]
    )
    for weight in model.trainable_weights:
        changed = not np.allclose(np.asarray(weight), before[weight.path])
        assert changed == (weight.name == "kernel"), weight.path
        if changed:  # decoupled decay: w <- w - lr * wd * w
            np.testing.assert_allclose(np.asarray(weight), 2.0 * (1 - 0.1 * 0.5), rtol=1e-6)


def test_adamw_clips_the_global_norm():
    optimizer = bert_optimizer(1e-3)
    assert optimizer.global_clipnorm == 1.0
    clipped = optimizer._clip_gradients([np.full((3,), 10.0, "float32"), np.full((4,), 10.0, "float32")])
    global_norm = np.sqrt(sum(np.sum(np.square(g)) for g in clipped))
    assert abs(global_norm - 1.0) < 1e-5


def test_gradient_accumulation_equals_one_large_batch():
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    y = np.random.default_rng(1).normal(size=(8, 1)).astype("float32")
    weights = None
    results = []
    for batch_size, accumulation in ((8, None), (4, 2)):
        model = _tiny_model()
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(
            optimizer=keras.optimizers.SGD(0.1, gradient_accumulation_steps=accumulation),
            loss="mse",
        )
        model.fit(x, y, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for large, accumulated in zip(*results):
        np.testing.assert_allclose(accumulated, large, atol=1e-6)
    assert not np.allclose(results[0][0], weights[0])  # training happened
