"""Command line: `python -m tf_models COMMAND --help`.

Training (each writes config, tokenizer, model, logs and results to
--output-dir):
  train-translation   train a Transformer on sentence pairs, report BLEU
  pretrain-bert       pretrain BERT with masked LM + next-sentence prediction
  finetune-bert       fine-tune BERT (from a pretrain-bert run, a Hugging Face or
                      Google checkpoint, or from scratch) to classify, tag or
                      answer questions (--task classify|tag|qa)
Using a finished run (PATH: a run's output directory, or an export):
  evaluate RUN_DIR          score it again on its test data
  export RUN_DIR            save it for TF Serving under saved_models/NAME/VERSION
  translate PATH TEXT..     translate sentences (a train-translation run)
  predict PATH TEXT..       classify or tag texts, answer questions about
                            --context (finetune-bert), or fill [MASK]s and
                            embed sentences (pretrain-bert)
The main job:
  demo                translate German to English (software messages), pretrain
                      BERT on fine-food reviews' text and fine-tune it on their
                      labels (beside the same model from random weights); all
                      offline data, every number beside its baseline

Options can also come from a JSON or YAML file (--config FILE); flags given on
the command line win over the file.
"""

import argparse
import dataclasses
import json
import sys
import time
import types
import typing
from pathlib import Path

JOB_COMMANDS = {
    "train-translation": "TranslationJob",
    "pretrain-bert": "PretrainingJob",
    "finetune-bert": "FinetuningJob",
}
JOB_FUNCTIONS = {
    "TranslationJob": "train_translation",
    "PretrainingJob": "pretrain_bert",
    "FinetuningJob": "finetune_bert",
}


def _field_type(field):
    """(base type, is_tuple) of a config field's annotation."""
    annotation = field.type
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is tuple:
        return typing.get_args(annotation)[0], True
    return annotation, False


def add_job_arguments(parser, job_class):
    """One `--flag` per config field, with the field's help and default."""
    parser.add_argument("--config", help="JSON or YAML file of options")
    for field in dataclasses.fields(job_class):
        flag = "--" + field.name.replace("_", "-")
        kind, is_tuple = _field_type(field)
        help_text = f"{field.metadata.get('help', '')} (default: {field.default})"
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag, type=kind, nargs="+" if is_tuple else None,
                                default=argparse.SUPPRESS, help=help_text)


def read_config_file(path):
    text = Path(path).read_text()
    if str(path).endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(text) or {}
    return json.loads(text)


def build_job(job_class, arguments):
    """The job config: class defaults < config file < command-line flags."""
    values = dict(arguments)
    config_file = values.pop("config", None)
    from_file = read_config_file(config_file) if config_file else {}
    from_file.pop("job", None)
    names = {field.name for field in dataclasses.fields(job_class)}
    unknown = set(from_file) - names
    if unknown:
        raise SystemExit(f"Unknown option(s) in {config_file}: {sorted(unknown)}")
    merged = {**from_file, **values}
    for field in dataclasses.fields(job_class):
        if field.name in merged and _field_type(field)[1]:
            merged[field.name] = tuple(merged[field.name])
    return job_class(**merged)


def _load_job(run_dir):
    """The job config a run saved in its `config.json`."""
    from tf_models import jobs

    config = json.loads((Path(run_dir) / "config.json").read_text())
    job_class = getattr(jobs, config.pop("job"))
    known = {f.name for f in dataclasses.fields(job_class)}
    config["output_dir"] = str(run_dir)  # where the run is now, even if it was moved
    return job_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k in known})


def _decoding(args):
    """The decoding flags that were given, as `Translator` options."""
    names = {"method": "method", "beam_width": "beam_width", "alpha": "alpha", "temperature": "temperature",
             "top_k": "top_k", "top_p": "top_p", "decoding_seed": "seed"}
    options = {names[k]: args.pop(k) for k in list(names) if k in args}
    options = {k: v for k, v in options.items() if v is not None}
    if options and "method" not in options:
        raise SystemExit("Decoding options need --method (greedy, beam or sample).")
    return options


def _inference_function(path, decoding):
    """`(task, function)` for a run folder or an export: named string
    tensors (`sentences`, or `questions` and `contexts`) -> outputs."""
    from tf_models import jobs
    from tf_models.export import load_export, read_export_info

    if (Path(path) / "config.json").exists():
        modules = jobs.inference_modules(path, _load_job(path), **decoding)
        module = next(iter(modules.values()))
        return module.settings["task"], module  # (not module.__call__: it holds the module weakly)
    if decoding:
        print("note: an export decodes as it was exported; decoding options are ignored")
    signature = load_export(path).signatures["serving_default"]
    return read_export_info(path)["settings"]["task"], signature


def format_outputs(task, texts, outputs):
    """One printable line (or a few) per text."""
    outputs = {k: v.numpy() for k, v in outputs.items()}
    lines = []
    for i, text in enumerate(texts):
        if task == "translation":
            lines.append(f"{text} -> {outputs['translation'][i].decode()}")
        elif task == "classification":
            p = outputs["probabilities"][i]
            lines.append(f"{outputs['label'][i].decode()} ({p.max():.2f}): {text}")
        elif task == "tagging":
            words = outputs["words"][i][: outputs["word_count"][i]]
            lines.append(" ".join(f"{w.decode()}/{t.decode() or '?'}" for w, t in zip(words, outputs["tags"][i])))
        elif task == "question_answering":
            answer = outputs["answer"][i].decode()
            lines.append(f"{text} -> {answer} ({outputs['score'][i]:.2f})" if answer else f"{text} -> (no answer)")
        elif task == "fill_mask":
            count = outputs["mask_count"][i]
            candidates = "; ".join(
                " / ".join(f"{t.decode()} {p:.2f}" for t, p in zip(tokens, probabilities))
                for tokens, probabilities in zip(outputs["tokens"][i][:count], outputs["probabilities"][i][:count])
            )
            lines.append(f"{outputs['filled'][i].decode()}   [{candidates or 'no [MASK] in the text'}]")
        else:
            vector = outputs["embedding"][i]
            lines.append(f"{text}: [{', '.join(f'{x:.3f}' for x in vector[:4])}, ...] ({vector.size} dims)")
    return lines


def apply(path, texts, decoding=None, context=None):
    """Runs a run or an export on `texts` (questions about `context` for a
    question-answering model); returns the printable lines."""
    import tensorflow as tf

    task, function = _inference_function(path, decoding or {})
    if task == "question_answering":
        if context is None:
            raise SystemExit("A question-answering model reads the questions' --context TEXT.")
        inputs = {"questions": list(texts), "contexts": [context] * len(texts)}
    else:
        inputs = {"sentences": list(texts)}
    outputs = function(**{name: tf.constant(value, tf.string) for name, value in inputs.items()})
    return format_outputs(task, texts, outputs)


def _add_decoding_arguments(parser):
    group = parser.add_argument_group("decoding (translation; default: as the run was evaluated)")
    group.add_argument("--method", choices=["greedy", "beam", "sample"])
    group.add_argument("--beam-width", type=int, help="beams (the paper: 4)")
    group.add_argument("--alpha", type=float, help="length penalty exponent (the paper: 0.6)")
    group.add_argument("--temperature", type=float, help="sampling temperature")
    group.add_argument("--top-k", type=int, help="sample among the k likeliest tokens")
    group.add_argument("--top-p", type=float, help="sample among the likeliest tokens of total mass p")
    group.add_argument("--decoding-seed", type=int, help="sampling seed")


DEMO_QUERIES = {
    "translator": ["Die Datei konnte nicht gespeichert werden.", "Möchten Sie die Änderungen speichern?",
                   "Neues Fenster öffnen"],
    "classifier": ["This coffee is delicious, I will buy it again.",
                   "The package arrived broken and the cookies tasted stale."],
    "fill_mask": ["This coffee is [MASK] and I will buy it again.", "The cookies arrived [MASK] and fresh."],
    "sentence_encoder": ["The tea tastes great."],
}

# The fine-tuning peak learning rate of each start. At this model size BERT-Base's
# 2e-5 to 1e-4 is too low: the main job reached about 70% at 1e-4 and 79% at
# 1e-3 with either start.
DEMO_PEAK_RATES = {"pretrained": 1e-3, "random": 1e-3}


def demo_jobs(root, full=False):
    """The main job's runs, as job configs.

    Returns:
        `(translation, pretraining, finetuning)`: two jobs and a dict of two,
        `{"pretrained": ..., "random": ...}`, which fine-tune from the
        pretraining run's weights and from random weights of its shape.
    """
    from tf_models import jobs

    scale = 4 if full else 1
    root = Path(root)
    # No dropout: in six epochs this model is far from memorising 40,000 pairs
    # (its training BLEU stays within a few points of its test BLEU), and
    # dropout slows it down.
    translation = jobs.TranslationJob(
        output_dir=str(root / "translation"), source="software_de_en", preset="tiny", dropout=0.0,
        vocabulary_size=4000, max_length=24, batch_size=64, bucket_boundaries=(8, 12, 16),
        epochs=6 * scale, warmup_steps=400,
    )
    # Self-pretraining: BERT learns from the training reviews' own text
    # (labels dropped) with its own vocabulary, then fine-tunes on the labels.
    pretraining = jobs.PretrainingJob(
        output_dir=str(root / "pretraining"), source="fine_food_reviews", preset="tiny",
        vocabulary_size=6000, max_sequence_length=128, batch_size=32, steps=250 * scale,
        held_out_documents=200,
    )
    finetuning = {
        start: jobs.FinetuningJob(
            output_dir=str(root / f"finetuning_{start}"), source="fine_food_reviews",
            init=str(root / "pretraining"), random_weights=start == "random",
            max_sequence_length=96, epochs=2 * scale, peak_learning_rate=rate,
        )
        for start, rate in DEMO_PEAK_RATES.items()
    }
    return translation, pretraining, finetuning


def demo_summary(translation, pretraining, finetuning):
    """Every number of the main job beside its baseline, as one dict."""
    classification = {f"{start}_accuracy": results["accuracy"] for start, results in finetuning.items()}
    return {
        "translation": {
            "test_bleu": translation["bleu"],
            "baseline_copy_source_bleu": translation["baselines"]["copy_source_bleu"],
            "train_bleu": translation["baselines"].get("train_bleu"),
        },
        "pretraining": {
            "mlm_accuracy": pretraining["mlm_logits_accuracy"],
            "baseline_most_frequent_token_accuracy":
                pretraining["baselines"]["mlm_most_frequent_token_accuracy"],
            "nsp_accuracy": pretraining["nsp_logits_accuracy"],
            "baseline_nsp_majority_accuracy": pretraining["baselines"]["nsp_majority_accuracy"],
        },
        "classification": {
            **classification,
            **{f"baseline_{k}": v for k, v in finetuning["pretrained"]["baselines"].items()
               if k.endswith("accuracy")},
        },
    }


def print_summary(summary):
    """The summary as lines of `name: value`, baselines indented under their result."""
    for section, numbers in summary.items():
        if not isinstance(numbers, dict):
            continue
        print(f"{section}:")
        for name, value in numbers.items():
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"  {'  ' if name.startswith('baseline') else ''}{name}: {shown}")


def demo(output_dir, full=False, saved_models="saved_models"):
    """The main job on offline data, sized for a 2-core CPU (14 to 16 minutes)."""
    from tf_models import jobs

    started = time.time()
    root = Path(output_dir)
    translation_job, pretraining_job, finetuning_jobs = demo_jobs(root, full)
    translation = jobs.train_translation(translation_job)
    pretraining = jobs.pretrain_bert(pretraining_job)
    finetuning = {start: jobs.finetune_bert(job) for start, job in finetuning_jobs.items()}
    with jobs.stage("export", f"check that {saved_models} is writable"):
        exports = {}
        for run in ("translation", "pretraining", "finetuning_pretrained"):
            for path in jobs.export_run(root / run, _load_job(root / run), saved_models):
                exports[path.parent.name] = path
    with jobs.stage("query the exports", "run `python -m tf_models predict` on one export to see the error"):
        for name, path in exports.items():
            print(f"{name} ({path}, loaded from disk):")
            for line in apply(path, DEMO_QUERIES[name]):
                print(f"  {line}")
    summary = demo_summary(translation, pretraining, finetuning)
    summary["exports"] = {name: str(path) for name, path in exports.items()}
    summary["minutes"] = (time.time() - started) / 60
    (root / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n== Main job done: each result, with its baselines indented below it ==")
    print_summary(summary)
    print(f"minutes: {summary['minutes']:.1f}")
    print(f"Everything is under {root.resolve()}")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tf_models", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    from tf_models import jobs

    for command, class_name in JOB_COMMANDS.items():
        job_class = getattr(jobs, class_name)
        add_job_arguments(commands.add_parser(command, help=job_class.__doc__), job_class)
    evaluate = commands.add_parser("evaluate", help="score a finished run on its test data")
    evaluate.add_argument("run_dir")
    for command, what in (("translate", "sentences"), ("predict", "texts")):
        sub = commands.add_parser(command, help=f"run a finished job or an export on {what}")
        sub.add_argument("path", help="a run's output directory, or an export (saved_models/NAME[/VERSION])")
        sub.add_argument("texts", nargs="+")
        if command == "predict":
            sub.add_argument("--context", help="the text that a question-answering model answers from")
        _add_decoding_arguments(sub)
    export = commands.add_parser("export", help="export a finished run for TF Serving")
    export.add_argument("run_dir")
    export.add_argument("--base-dir", default="saved_models", help="TF Serving's model base path")
    export.add_argument("--name", help="model name (a prefix for pretraining runs, which export two)")
    export.add_argument("--version", type=int, help="version number (default: the next one)")
    _add_decoding_arguments(export)
    demo_parser = commands.add_parser("demo", help="the main job on offline data")
    demo_parser.add_argument("--output-dir", default="runs/demo")
    demo_parser.add_argument("--full", action="store_true", help="train 4x longer for better numbers")
    demo_parser.add_argument("--saved-models", default="saved_models", help="where the exports go")
    args = vars(parser.parse_args(argv))
    command = args.pop("command")

    if command in JOB_COMMANDS:
        job_class = getattr(jobs, JOB_COMMANDS[command])
        job = build_job(job_class, args)
        getattr(jobs, JOB_FUNCTIONS[job_class.__name__])(job)
    elif command == "demo":
        demo(args["output_dir"], args["full"], args["saved_models"])
    elif command == "evaluate":
        jobs.evaluate_run(_load_job(args["run_dir"]))
    elif command == "export":
        decoding = _decoding(args)
        jobs.export_run(args["run_dir"], _load_job(args["run_dir"]), args["base_dir"], args["name"],
                        args["version"], **decoding)
    else:
        context = args.pop("context", None)
        for line in apply(args["path"], args["texts"], _decoding(args), context):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
