"""The TF Serving contract of the exports, proved without a TF Serving binary:

(a) each export, loaded in a fresh process that imports only TensorFlow and
    TF Text, gives the in-memory module's outputs, bad inputs included;
(b) `saved_model_cli show --all` lists the documented signatures;
(c) every op is core TensorFlow or a TF Text op that TF Serving links;
(d) the warmup requests parse and run against the loaded SavedModel;
(e) every export answers TF Serving's REST API (row and columnar formats)
    through serving_double.py, as the module does.
The REST and gRPC clients themselves are tested in test_serving.py.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import EXPORT_MAX_LENGTH as MAX_LENGTH
from serving_double import ServingDouble, _jsonable

from tf_models.export import (
    export_saved_model,
    latest_version,
    read_export_info,
    read_warmup_requests,
    write_models_config,
)
from tf_models.inference import FillMask, QuestionAnswerer, TextGenerator, Translator
from tf_models.serving import RestClient

SCRIPTS = Path(__file__).parent / "scripts"

# Inputs every string signature must survive (bytes, as clients may send).
BAD_TEXTS = {
    "normal": [b"the cat sat on the mat.", b"a dog."],
    "empty": [b""],
    "whitespace": [b"  \t\n  "],
    "long": [b"the cats " * 11_112],  # 100,008 characters
    "invalid_utf8": [b"the \xff\xfe cat \xc3"],
    "nul": [b"the\x00cat"],
    "only_mask": [b"[MASK]"],
    "masks": [b"the [MASK] sat on the [MASK] .", b"[MASK][MASK]"],
    "other_scripts": ["日本語の文章です。".encode(), "Привет, мир".encode(), "مرحبا بالعالم".encode(), "🙂🙂".encode()],
    "empty_batch": [],
}

# (c) The custom ops the exports may use. TF Serving's ModelServer links
# tensorflow-text's ops; TF Serving 2.18/2.19 pin TF Text 2.12.1 (2.20 pins
# 2.20.0), and servers built with TF Text 2.12 cannot load ops added later
# (such as TFText>RoundRobinTrim). These four are BertTokenizer's ops, and
# all four are in the TF Text 2.12.1 wheel (checked by listing its shared
# libraries' op registrations).
TF_TEXT_2_12_OPS = {"CaseFoldUTF8", "NormalizeUTF8", "RegexSplitWithOffsets", "WordpieceTokenizeWithOffsets"}


@pytest.fixture(scope="module")
def modules(inference_modules):
    return inference_modules


@pytest.fixture(scope="module")
def exports(exported_models):
    return exported_models


def _requests(module):
    """`{"<signature>/<case>": {input: values}}` for every signature."""
    requests = {}
    for case, texts in BAD_TEXTS.items():
        if isinstance(module, QuestionAnswerer):
            requests[f"serving_default/{case}"] = {"questions": texts[::-1], "contexts": texts}
        elif isinstance(module, TextGenerator):
            requests[f"serving_default/{case}"] = {"prompts": texts}
        else:
            requests[f"serving_default/{case}"] = {"sentences": texts}
        if "pairs" in module.SERVING_SIGNATURES:
            requests[f"pairs/{case}"] = {"first": texts, "second": texts[::-1]}
    ids = [[7, 8, 9, 0], [99, -3, 4, 4]]  # padding, out-of-vocabulary ids, masks
    if isinstance(module, Translator):
        requests["ids/some"] = {"encoder_token_ids": ids}
    elif isinstance(module, TextGenerator):
        requests["ids/some"] = {"prompt_ids": ids}
    elif "ids" in module.SERVING_SIGNATURES:
        features = {"token_ids": ids, "segment_ids": [[0, 0, 1, 0], [0, 5, 1, 1]], "padding_mask": [[1, 1, 1, 0], [1, 1, 1, 1]]}
        if isinstance(module, FillMask):
            features["mask_positions"] = [[1, 2], [3, 40]]
        requests["ids/some"] = features
    return requests


def _run_in_memory(module, signature, inputs):
    method = getattr(module, module.SERVING_SIGNATURES[signature])
    spec = method.input_signature
    tensors = [
        tf.constant(values, s.dtype, shape=None if len(values) else [0] * s.shape.rank)
        for values, s in zip(inputs.values(), spec)
    ]
    return {name: value.numpy() for name, value in method(*tensors).items()}


# Session scope, as the exports it reads: if another module's tests run between
# this module's, pytest would otherwise build it again.
@pytest.fixture(scope="session")
def served(inference_modules, exported_models, tmp_path_factory):
    """Every request of `_requests`, answered by the exports in one fresh process."""
    modules, exports = inference_modules, exported_models
    folder = tmp_path_factory.mktemp("served")
    jobs = []
    for name, module in modules.items():
        requests = {key: {k: [v.decode("latin-1") if isinstance(v, bytes) else v for v in values]
                          for k, values in inputs.items()} for key, inputs in _requests(module).items()}
        jobs.append({"export": str(exports[1][name]), "requests": requests, "output": str(folder / f"{name}.npz")})
    (folder / "jobs.json").write_text(json.dumps(jobs))
    subprocess.run([sys.executable, str(SCRIPTS / "load_export.py"), str(folder / "jobs.json")],
                   check=True, timeout=600)
    return {name: np.load(folder / f"{name}.npz", allow_pickle=True) for name in modules}


@pytest.mark.parametrize(
    "name", ["translator", "classifier", "regressor", "fill_mask", "sentence_encoder", "tagger", "question_answerer",
             "text_generator"]
)
def test_export_in_a_fresh_process_equals_the_in_memory_module(name, modules, served):
    module, answers = modules[name], served[name]
    assert not {"tf_models", "keras_hub"} & set(answers["__modules__"])
    for key, inputs in _requests(module).items():
        signature = key.split("/")[0]
        expected = _run_in_memory(module, signature, inputs)
        batch = len(next(iter(inputs.values())))
        for output, value in expected.items():
            got = answers[f"{key}/{output}"]
            assert got.shape == value.shape and got.shape[:1] == (batch,), (key, output)
            if value.dtype.kind in "fc":
                assert np.isfinite(got).all(), (key, output)
                np.testing.assert_allclose(got, value, atol=1e-5, err_msg=f"{key}/{output}")
            else:
                np.testing.assert_array_equal(got, value, err_msg=f"{key}/{output}")


def _peak_mib_above_now(run):
    """Peak resident memory (MiB) that `run()` adds to this process (Linux)."""
    from benchmarks.serving_memory import memory_kib

    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to VmRSS
    before = memory_kib("VmRSS")
    run()
    return (memory_kib("VmHWM") - before) / 1024


def test_one_request_costs_a_bounded_amount_whatever_its_size(modules):
    """A 1 MB context made the question answerer allocate about 700 MiB
    before inputs were capped (benchmarks.serving_memory has the table)."""
    text = ("the cat sat on the mat . " * 40_000)[:1_000_000]
    reader, generator = modules["question_answerer"], modules["text_generator"]
    assert reader.settings["max_input_bytes"] == 65_536 and generator.settings["max_batch_size"] == 256
    reader(tf.constant(["where ?"]), tf.constant(["the cat sat ."]))  # traced before measuring
    generator(tf.constant(["the cat"]))
    modules["classifier"](tf.constant(["the cat"]))
    assert _peak_mib_above_now(lambda: reader(tf.constant(["where did the cat sit ?"]), tf.constant([text]))) < 100
    assert _peak_mib_above_now(lambda: generator(tf.constant([text]))) < 100
    probabilities = modules["classifier"](tf.constant([text]))["probabilities"]
    np.testing.assert_allclose(probabilities.numpy().sum(), 1.0, rtol=1e-5)
    # A prompt is continued from its end: its last bytes are the ones kept.
    assert generator.bounded(tf.constant(["x" * 20_000 + "the end"]), keep="end").numpy()[0].endswith(b"the end")
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 256 inputs"):
        modules["classifier"](tf.constant(["a"] * 257))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 256 inputs"):
        modules["classifier"].classify_ids(*[tf.ones((257, 4), tf.int32)] * 3)


def test_outputs_are_well_formed_for_bad_inputs(modules):
    translator, classifier, fill, encoder = (modules[n] for n in
                                             ("translator", "classifier", "fill_mask", "sentence_encoder"))
    for case, texts in BAD_TEXTS.items():
        batch = tf.constant(texts, tf.string, shape=[len(texts)])
        translated = translator(batch)
        assert translated["translation"].shape == (len(texts),)
        # Long inputs are truncated: outputs never pass the hard cap.
        assert translated["token_ids"].shape[1] <= MAX_LENGTH
        probabilities = classifier(batch)["probabilities"].numpy()
        np.testing.assert_allclose(probabilities.sum(-1), np.ones(len(texts)), rtol=1e-5)
        scores = modules["regressor"](batch)["score"].numpy()
        assert scores.shape == (len(texts),) and np.isfinite(scores).all()
        assert encoder(batch)["embedding"].shape == (len(texts), 16)
        filled = fill(batch)
        assert filled["tokens"].shape[:1] == (len(texts),) and filled["tokens"].shape[2:] == (3,)
    tagger, reader = modules["tagger"], modules["question_answerer"]
    for case, texts in BAD_TEXTS.items():
        batch = tf.constant(texts, tf.string, shape=[len(texts)])
        tagged = tagger(batch)
        # The words of each text's first max_input_bytes bytes: what one request may cost is capped.
        assert tagged["word_count"].numpy().tolist() == [len(text[: tagger.max_input_bytes].split()) for text in texts]
        for words, tags, count in zip(tagged["words"].numpy(), tagged["tags"].numpy(), tagged["word_count"]):
            # Every word is tagged unless cut off by the 16-piece limit; padding slots are empty.
            assert set(tags[:count]) <= {b"O", b"B-ANIMAL", b"I-ANIMAL", b""} and not any(tags[count:])
            assert not any(words[count:])
        answered = reader(tf.constant(texts[::-1], tf.string, shape=[len(texts)]), batch)
        for context, answer, begin, end in zip(texts, *(answered[k].numpy() for k in ("answer", "begin", "end"))):
            assert answer == context[begin:end] if begin >= 0 else answer == b""
    generator = modules["text_generator"]
    for case, texts in BAD_TEXTS.items():
        generated = generator(tf.constant(texts, tf.string, shape=[len(texts)]))
        # Any prompt, however long, leaves room for the continuation inside the context.
        assert generated["text"].shape == (len(texts),) and generated["token_ids"].shape == (len(texts), 6)
        assert np.isfinite(generated["scores"].numpy()).all()
        assert np.all(generated["token_ids"].numpy()[:, 0] != 0)  # every prompt gets at least one token
    masks = fill(tf.constant(["the [MASK] sat on the [MASK] .", "[MASK]", "no mask here"]))
    assert masks["mask_count"].numpy().tolist() == [2, 1, 0]
    assert masks["tokens"].shape == (3, 2, 3)
    assert masks["tokens"].numpy()[2].tolist() == [[b""] * 3] * 2  # padding slots are empty
    probabilities = masks["probabilities"].numpy()
    assert np.all(np.diff(probabilities[0], axis=-1) <= 0)  # best first
    assert b"[MASK]" not in masks["filled"].numpy()[0]


def test_versions_are_atomic_and_never_overwritten(modules, tmp_path):
    encoder = modules["sentence_encoder"]
    assert export_saved_model(encoder, tmp_path, "encoder").name == "1"
    assert export_saved_model(encoder, tmp_path, "encoder", version=7).name == "7"
    assert latest_version(tmp_path / "encoder") == 7
    with pytest.raises(FileExistsError):
        export_saved_model(encoder, tmp_path, "encoder", version=1)
    # No staging folder is left behind, after success or failure.
    assert sorted(p.name for p in (tmp_path / "encoder").iterdir()) == ["1", "7"]
    config = write_models_config(tmp_path).read_text()
    assert "name: 'encoder'" in config and "base_path: '/models/encoder'" in config
    info = read_export_info(tmp_path / "encoder")
    assert info["version"] == 7 and info["settings"]["task"] == "sentence_encoder"


def test_export_records_the_decoding_method(exports):
    info = read_export_info(exports[1]["translator"])
    assert info["settings"]["method"] == "beam" and info["settings"]["beam_width"] == 3
    assert info["signatures"]["serving_default"]["inputs"] == {"sentences": {"dtype": "string", "shape": [None]}}
    # The vocabulary travels as an asset.
    assert (exports[1]["translator"] / "assets" / "vocab.txt").exists()


SIGNATURES = {
    "translator": {"serving_default": ("sentences", "DT_STRING", "(-1)", ["scores", "token_ids", "translation"]),
                   "ids": ("encoder_token_ids", "DT_INT32", "(-1, -1)", ["scores", "token_ids"])},
    "classifier": {"serving_default": ("sentences", "DT_STRING", "(-1)", ["label", "label_id", "probabilities"]),
                   "pairs": ("first", "DT_STRING", "(-1)", ["label", "label_id", "probabilities"]),
                   "ids": ("token_ids", "DT_INT32", "(-1, -1)", ["label", "label_id", "probabilities"])},
    "regressor": {"serving_default": ("sentences", "DT_STRING", "(-1)", ["score"]),
                  "pairs": ("first", "DT_STRING", "(-1)", ["score"]),
                  "ids": ("token_ids", "DT_INT32", "(-1, -1)", ["score"])},
    "fill_mask": {"serving_default": ("sentences", "DT_STRING", "(-1)",
                                      ["filled", "mask_count", "probabilities", "token_ids", "tokens"]),
                  "ids": ("mask_positions", "DT_INT32", "(-1, -1)", ["probabilities", "token_ids"])},
    "sentence_encoder": {"serving_default": ("sentences", "DT_STRING", "(-1)", ["embedding"]),
                         "ids": ("token_ids", "DT_INT32", "(-1, -1)", ["embedding"])},
    "tagger": {"serving_default": ("sentences", "DT_STRING", "(-1)", ["tag_ids", "tags", "word_count", "words"])},
    "question_answerer": {"serving_default": ("contexts", "DT_STRING", "(-1)", ["answer", "begin", "end", "score"])},
    "text_generator": {"serving_default": ("prompts", "DT_STRING", "(-1)", ["scores", "text", "token_ids"]),
                       "ids": ("prompt_ids", "DT_INT32", "(-1, -1)", ["scores", "token_ids"])},
}


@pytest.fixture(scope="session")
def shown(exported_models):
    """`saved_model_cli show --all` of each export (all run side by side)."""
    cli = Path(sys.executable).parent / "saved_model_cli"
    processes = {name: subprocess.Popen([str(cli), "show", "--dir", str(path), "--all"], text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                 for name, path in exported_models[1].items()}
    outputs = {name: process.communicate(timeout=300)[0] for name, process in processes.items()}
    assert all(process.returncode == 0 for process in processes.values())
    return outputs


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_saved_model_cli_lists_the_documented_signatures(name, shown):
    shown = shown[name]
    blocks = {block.split("']")[0]: block for block in shown.split("signature_def['")[1:]}
    assert set(blocks) == set(SIGNATURES[name]) | {"__saved_model_init_op"}
    for signature, (input_name, dtype, shape, outputs) in SIGNATURES[name].items():
        block = blocks[signature]
        inputs, outputs_part = block.split("contains the following output(s):")
        assert f"inputs['{input_name}'] tensor_info:\n        dtype: {dtype}\n        shape: {shape}" in inputs
        assert sorted(line.split("'")[1] for line in outputs_part.splitlines() if "outputs['" in line) == outputs
        assert "Method name is: tensorflow/serving/predict" in block


def test_exported_graphs_use_only_core_and_tf_text_2_12_ops(exports):
    paths = [str(p / "saved_model.pb") for p in exports[1].values()]
    # A process that imports TensorFlow alone knows exactly the core ops.
    code = (
        "import json, sys\n"
        "from tensorflow.core.protobuf import saved_model_pb2\n"
        "from tensorflow.python.framework import op_def_registry\n"
        "unknown = set()\n"
        "for path in sys.argv[1:]:\n"
        "    model = saved_model_pb2.SavedModel.FromString(open(path, 'rb').read())\n"
        "    for graph in model.meta_graphs:\n"
        "        library = graph.graph_def.library.function\n"
        "        functions = {f.signature.name for f in library}\n"
        "        nodes = list(graph.graph_def.node) + [n for f in library for n in f.node_def]\n"
        "        unknown |= {n.op for n in nodes if n.op not in functions and op_def_registry.get(n.op) is None}\n"
        "print(json.dumps(sorted(unknown)))\n"
    )
    output = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, check=True,
                            timeout=300).stdout
    custom_ops = set(json.loads(output.strip().splitlines()[-1]))
    assert custom_ops <= TF_TEXT_2_12_OPS, custom_ops - TF_TEXT_2_12_OPS
    assert "WordpieceTokenizeWithOffsets" in custom_ops  # the check sees the tokenizer


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_warmup_requests_parse_and_run(name, exports):
    export = exports[1][name]
    requests = read_warmup_requests(export / "assets.extra" / "tf_serving_warmup_requests")
    assert requests and {signature for signature, _ in requests} <= set(SIGNATURES[name])
    loaded = tf.saved_model.load(str(export))
    for signature, inputs in requests:
        outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        assert all(v.shape[0] == len(next(iter(inputs.values()))) for v in outputs.values())


@pytest.fixture(scope="module")
def rest_url(exports):
    """The REST API of serving_double.py (TF Serving's JSON API) over every export."""
    double = ServingDouble({name: {1: path} for name, path in exports[1].items()})
    yield double.start_rest()
    double.stop()


def _rows(columns):
    """`{name: (batch, ...)}` -> one row per example, as TF Serving's row format
    writes it (a single input or output is the value itself)."""
    batch = len(next(iter(columns.values())))
    rows = [{name: values[i] for name, values in columns.items()} for i in range(batch)]
    return [next(iter(row.values())) for row in rows] if len(columns) == 1 else rows


@pytest.mark.parametrize("name", ["translator", "classifier", "regressor", "fill_mask", "sentence_encoder", "tagger",
                                  "question_answerer", "text_generator"])
def test_every_export_answers_the_rest_api_in_row_and_columnar_format(name, modules, rest_url):
    """Two inputs per row (question answering), 2-D and 3-D string outputs
    (tagger, fill-mask): each as the in-memory module answers."""
    module = modules[name]
    client = RestClient(rest_url, timeout=60)
    texts = [b"the [MASK] sat on the mat.", b"a dog."]
    inputs = ({"questions": texts[::-1], "contexts": texts} if isinstance(module, QuestionAnswerer)
              else {"prompts": texts} if isinstance(module, TextGenerator) else {"sentences": texts})
    expected = {key: _jsonable(value) for key, value in _run_in_memory(module, "serving_default", inputs).items()}
    as_json = {key: [text.decode() for text in values] for key, values in inputs.items()}
    rows = client.predict(name, instances=_rows(as_json))
    columns = client.predict(name, inputs=as_json)
    if len(expected) == 1:  # one output: TF Serving writes the value itself
        (only,) = expected
        rows, columns = [{only: row} for row in rows], {only: columns}
    assert set(columns) == set(expected) and len(rows) == len(texts)
    for answer in (columns, {key: [row[key] for row in rows] for key in expected}):
        for key, value in expected.items():
            _assert_json_equal(answer[key], value, f"{name}/{key}")


def _assert_json_equal(got, expected, where):
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for g, e in zip(got, expected):
            _assert_json_equal(g, e, where)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-5), where
    else:
        assert got == expected, where
