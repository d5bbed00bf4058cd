import keras
import numpy as np
import pytest

from tf_models.training import TransformerSchedule, WarmupPolynomialDecay


@pytest.mark.parametrize("step", [1, 100, 3999, 4000, 4001, 20000, 100000])
def test_noam_matches_the_paper_formula(step):
    expected = 512**-0.5 * min(step**-0.5, step * 4000**-1.5)
    assert float(TransformerSchedule(512, 4000)(step)) == pytest.approx(expected, rel=1e-5)


def test_noam_peaks_at_the_end_of_warmup():
    schedule = TransformerSchedule(256, warmup_steps=100, scale=2.0)
    rates = [float(schedule(s)) for s in range(1, 400)]
    assert int(np.argmax(rates)) + 1 == 100
    assert max(rates) == pytest.approx(2.0 * (256 * 100) ** -0.5, rel=1e-5)


@pytest.mark.parametrize(
    "step, expected",
    [(0, 0.0), (25, 5e-5), (50, 1e-4), (75, 5e-5 + 0.5e-5), (100, 1e-5), (150, 1e-5)],
)
def test_bert_schedule_warms_up_then_decays_linearly(step, expected):
    schedule = WarmupPolynomialDecay(1e-4, total_steps=100, warmup_steps=50, end_rate=1e-5)
    assert float(schedule(step)) == pytest.approx(expected, abs=1e-9)


def test_polynomial_power():
    schedule = WarmupPolynomialDecay(1.0, total_steps=10, warmup_steps=0, power=2.0)
    assert float(schedule(5)) == pytest.approx(0.25)


def test_bad_warmup_is_refused():
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupPolynomialDecay(1e-4, total_steps=10, warmup_steps=20)


def test_schedules_serialise_inside_an_optimizer():
    for schedule in (TransformerSchedule(128, 10), WarmupPolynomialDecay(1e-3, 100, 10)):
        optimizer = keras.optimizers.Adam(schedule)
        restored = keras.optimizers.Adam.from_config(optimizer.get_config())
        # `learning_rate` reads the current value; the schedule itself is kept here.
        assert type(restored._learning_rate) is type(schedule)
        assert restored._learning_rate.get_config() == schedule.get_config()
