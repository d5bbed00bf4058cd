"""Records: plain, frozen Python values that validate their shape."""

import dataclasses

import pytest

from tf_models.data.records import ClassificationData, RegressionData, classification_data


def test_classification_record_from_lists():
    data = ClassificationData.from_lists((["a man", "a dog"], ["a person", "a cat"]), [1, 0], ["no", "yes"])
    assert data.texts == (("a man", "a dog"), ("a person", "a cat"))
    assert data.labels == (1, 0) and data.label_names == ("no", "yes")
    assert len(data) == 2 and data.num_classes == 2
    assert data.take(1) == ClassificationData((("a man",), ("a person",)), (1,), ("no", "yes"))
    assert classification_data(["x"], [0], ["only"]).texts == (("x",),)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.labels = ()


def test_records_refuse_columns_that_do_not_match_the_labels():
    with pytest.raises(ValueError, match="one or two text columns"):
        ClassificationData.from_lists((["a"], ["b"], ["c"]), [0], ["x"])
    with pytest.raises(ValueError, match="Text columns of 2, 1 examples for 2 labels"):
        RegressionData.from_lists((["a", "b"], ["c"]), [0.5, 1.0])


def test_regression_record_holds_float_scores():
    data = RegressionData.from_lists(["a", "b", "c"], [1, 2.5, "4"])
    assert data.labels == (1.0, 2.5, 4.0) and len(data.take(2)) == 2


def test_records_still_offer_their_examples_as_a_dataset():
    # What labelled_text_dataset hands to the pipelines (see test_pipelines).
    (texts, label), = ClassificationData.from_lists(["good"], [1], ["neg", "pos"]).dataset
    assert (texts[0].numpy(), int(label)) == (b"good", 1)
