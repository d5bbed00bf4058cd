"""Command line: `python -m tf_models COMMAND --help`.

Training (each writes config, tokenizer, model, logs and results to
--output-dir):
  train-translation   train a Transformer on sentence pairs, report BLEU
  pretrain-bert       pretrain BERT: masked LM, with or without next-sentence
                      prediction
  finetune-bert       fine-tune BERT (from a pretrain-bert run, a Hugging Face or
                      Google checkpoint, or from scratch) to classify, score,
                      tag or answer questions (--task classifier|regressor|
                      tagger|question_answerer)
  train-lm            train a decoder-only CausalLM (GPT) on documents, report
                      perplexity beside unigram and bigram models, print samples
Using a finished run (PATH: a run's output directory, or an export):
  evaluate RUN_DIR          score it again on its test data
  export RUN_DIR            save it for TF Serving under saved_models/NAME/VERSION
  predict PATH TEXT..       what the run or export does, on each text: translate
                            (train-translation), continue prompts (train-lm;
                            "" starts a new document), classify, score or tag
                            texts (pairs: each with --second TEXT), answer
                            questions about --context (finetune-bert), fill
                            [MASK]s and embed sentences (pretrain-bert);
                            `translate` and `generate` are other names of it
The main job:
  demo                translate German to English (software messages), pretrain
                      BERT on Debian's package descriptions and fine-tune it on
                      500 of them labelled with their section (beside the same
                      model from random weights; the better one on validation
                      data is exported); all offline data, every number beside
                      its baseline

Options can also come from a JSON or YAML file (--config FILE); flags given on
the command line win over the file. TensorFlow is imported only once a
command runs, so `--help` answers at once.
"""

import argparse
import dataclasses
import json
import os
import sys
import types
import typing
from pathlib import Path

from tf_models.inference.decoding_config import DecodingConfig
from tf_models.jobs.configs import JOBS, load_job

# Each training command is a job class: its fields are the flags, `run()` the command.
JOB_COMMANDS = {job.command: job for job in JOBS}


def _field_type(field):
    """(base type, is_tuple) of a config field's annotation."""
    annotation = field.type
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is tuple:
        return typing.get_args(annotation)[0], True
    return annotation, False


def add_config_arguments(parser, config_class, defaults=None, prefix="", show_defaults=True):
    """One `--flag` per field of a config dataclass, with its help and default.

    A field that holds a config of its own (`TranslationJob.decoding`) gets a
    flag per field of that config, in a group of its own; its values come back
    as `"<field>.<name>"` (see `build_job`). A field's flag is its name, or the
    `"flag"` of its metadata; its metadata may add `"choices"`.
    """
    defaults = defaults if defaults is not None else config_class()
    for field in dataclasses.fields(config_class):
        default = getattr(defaults, field.name)
        if dataclasses.is_dataclass(default):
            group = parser.add_argument_group(f"{field.name} ({field.metadata.get('help', '')})")
            add_config_arguments(group, type(default), default, f"{field.name}.", show_defaults)
            continue
        name = field.metadata.get("flag", field.name)
        flags = ["--" + name.replace("_", "-")]
        kind, is_tuple = _field_type(field)
        help_text = field.metadata.get("help", "") + (f" (default: {default})" if show_defaults else "")
        options = dict(dest=prefix + field.name, default=argparse.SUPPRESS, help=help_text)
        if kind is bool:
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, **options)
        else:
            parser.add_argument(*flags, type=kind, nargs="+" if is_tuple else None, metavar=name.upper(),
                                choices=field.metadata.get("choices"), **options)


def add_job_arguments(parser, job_class):
    """`--config FILE` and one `--flag` per option of the job."""
    parser.add_argument("--config", help="JSON or YAML file of options")
    add_config_arguments(parser, job_class)


def read_config_file(path):
    text = Path(path).read_text()
    if str(path).endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(text) or {}
    return json.loads(text)


def _nested_flags(values):
    """`{"decoding.method": "greedy", "epochs": 2}` -> `{"epochs": 2}, {"decoding": {"method": "greedy"}}`."""
    flat, nested = {}, {}
    for key, value in values.items():
        if "." in key:
            outer, inner = key.split(".", 1)
            nested.setdefault(outer, {})[inner] = value
        else:
            flat[key] = value
    return flat, nested


def build_job(job_class, arguments):
    """The job config: class defaults < config file < command-line flags."""
    values, nested = _nested_flags(arguments)
    config_file = values.pop("config", None)
    from_file = read_config_file(config_file) if config_file else {}
    from_file.pop("job", None)
    try:
        job = job_class.from_values({**from_file, **values})
        # Flags of a nested config change the file's (or the default) config.
        changes = {name: getattr(job, name).replace(**given) for name, given in nested.items()}
        return dataclasses.replace(job, **changes)
    except ValueError as error:
        raise SystemExit(f"{error} (in {config_file or 'the flags'})") from None


def _add_decoding_arguments(parser):
    """`DecodingConfig`'s flags (the same as `train-translation`'s), for a finished run."""
    group = parser.add_argument_group("decoding (translation and language-model runs; default: as the run "
                                      "was evaluated)")
    add_config_arguments(group, DecodingConfig, prefix="decoding.", show_defaults=False)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tf_models", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command, job_class in JOB_COMMANDS.items():
        add_job_arguments(commands.add_parser(command, help=job_class.__doc__), job_class)
    evaluate = commands.add_parser("evaluate", help="score a finished run on its test data")
    evaluate.add_argument("run_dir")
    # One command queries any run or export; translate and generate are its
    # other names, read as the sentence a learner would say.
    query = commands.add_parser("predict", aliases=["translate", "generate"],
                                help="run a finished job or an export on texts (translate sentences, continue "
                                     "prompts, classify, score, tag, answer, fill [MASK]s, embed)")
    query.add_argument("path", help="a run's output directory, or an export (saved_models/NAME[/VERSION])")
    query.add_argument("texts", nargs="+")
    query.add_argument("--context", help="the text that a question-answering model answers from")
    query.add_argument("--second", help="the second text of each pair (models of sentence pairs)")
    _add_decoding_arguments(query)
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
    demo_parser.add_argument("--seed", type=int, default=0, help="seed of every run of the main job")
    demo_parser.add_argument("--restart", action="store_true",
                             help="discard the backups of an interrupted main job and start afresh")
    args = vars(parser.parse_args(argv))
    command = args.pop("command")
    try:
        _run_command(command, args)
    except (ValueError, FileNotFoundError, FloatingPointError) as error:
        # The package's errors about data, flags and folders (CorpusError,
        # RunFolderBusy and ResumeMismatch are ValueErrors) and a diverged
        # training (TrainingDiverged) say what is wrong and what to do: one
        # line, no traceback (TF_MODELS_TRACEBACK=1 shows it, to debug the
        # package itself).
        if os.environ.get("TF_MODELS_TRACEBACK") == "1":
            raise
        raise SystemExit(f"error: {error}") from None
    return 0


def _run_command(command, args):
    """Runs one parsed command (`args` without the command's name)."""
    from tf_models.startup import import_tensorflow

    # Every command imports TensorFlow; importing it here first, through
    # import_tensorflow, keeps its C++ start-up lines (oneDNN, "Could not
    # find cuda drivers", absl's banner) off the terminal, which
    # TF_CPP_MIN_LOG_LEVEL alone no longer does in TensorFlow 2.21.
    import_tensorflow()
    from tf_models.jobs.query import query, run_decoding

    if command in JOB_COMMANDS:
        build_job(JOB_COMMANDS[command], args).run()
    elif command == "demo":
        from tf_models.demo import demo

        demo(args["output_dir"], args["full"], args["saved_models"], args["seed"], args["restart"])
    elif command == "evaluate":
        load_job(args["run_dir"]).evaluate()
    elif command == "export":
        args, nested = _nested_flags(args)
        job = load_job(args["run_dir"])
        job.export(args["base_dir"], args["name"], args["version"], run_decoding(job, nested.get("decoding", {})))
    else:
        args, nested = _nested_flags(args)
        context, second = args.pop("context", None), args.pop("second", None)
        for line in query(args["path"], args["texts"], nested.get("decoding"), context, second):
            print(line)


if __name__ == "__main__":
    sys.exit(main())
