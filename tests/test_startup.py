"""TensorFlow's C++ start-up lines are held back by their severity; every
other line written meanwhile comes through, in order."""

import os

import pytest

from tf_models.startup import filtered_native_stderr

WRITTEN = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796502838.407386    4421 port.cc:153] oneDNN custom operations are on.\n"
    "something else a library printed\n"
    "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda drivers\n"
    "E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN factory\n"
)


@pytest.mark.parametrize("level, kept", [
    (3, "something else a library printed\n"),
    (2, "something else a library printed\n"
        "E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN factory\n"),
    (0, WRITTEN.split("\n", 1)[1]),  # all but the banner, which only says where logs go
])
def test_lines_below_the_level_are_held_back_and_the_rest_written_in_order(capfd, level, kept):
    with filtered_native_stderr(level):
        os.write(2, WRITTEN.encode())
    assert capfd.readouterr().err == kept


def test_the_descriptor_is_restored_even_when_the_block_fails(capfd):
    with pytest.raises(ImportError), filtered_native_stderr(3):
        os.write(2, b"written before the failure\n")
        raise ImportError("no tensorflow")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "written before the failure\nafter\n"
