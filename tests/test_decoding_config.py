"""DecodingConfig: the one declaration of the decoding methods and their options."""

import dataclasses
import json

import pytest

from tf_models.inference.decoding_config import METHOD_OPTIONS, DecodingConfig


def test_each_method_reads_only_its_options():
    assert DecodingConfig().settings == {"method": "greedy"}
    assert DecodingConfig("beam", beam_width=8).options == {"beam_width": 8, "alpha": 0.6}
    sampled = DecodingConfig.from_settings({"method": "sample", "top_k": 5, "seed": 3})
    assert sampled.options == {"temperature": 1.0, "top_k": 5, "top_p": None, "seed": 3}
    with pytest.raises(dataclasses.FrozenInstanceError):
        sampled.top_k = 1


def test_options_the_method_does_not_read_are_refused():
    with pytest.raises(ValueError, match=r"'greedy' takes \[\], not \['beam_width'\]"):
        DecodingConfig.from_settings({"beam_width": 4})
    with pytest.raises(ValueError, match=r"'beam' takes \['beam_width', 'alpha'\], not \['top_k'\]"):
        DecodingConfig("beam").replace(top_k=5)
    # Changing the method at the same time makes the option apply.
    assert DecodingConfig("beam").replace(method="sample", top_k=5).top_k == 5


@pytest.mark.parametrize("settings, message", [
    ({"method": "viterbi"}, "Unknown decoding method 'viterbi'"),
    ({"method": "beam", "beam_width": 0}, "beam_width must be at least 1"),
    ({"method": "sample", "temperature": 0.0}, "temperature must be positive"),
    ({"method": "sample", "top_p": 1.5}, r"top_p must be in \(0, 1\]"),
    ({"method": "sample", "top_k": 0}, "top_k must be at least 1"),
])
def test_bad_values_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        DecodingConfig.from_settings(settings)


def test_settings_round_trip_through_json():
    config = DecodingConfig("sample", temperature=0.7, top_p=0.9, seed=11)
    assert DecodingConfig.from_settings(json.loads(json.dumps(config.settings))) == config


def test_every_search_takes_exactly_its_methods_options():
    import inspect

    from tf_models.inference.decoding import SEARCHES

    fixed = {"next_logits", "cache", "start_ids", "end_id", "max_length", "padding_id", "forced_ids"}
    assert list(SEARCHES) == list(METHOD_OPTIONS)
    for method, search in SEARCHES.items():
        assert set(inspect.signature(search).parameters) - fixed == set(METHOD_OPTIONS[method]), method
