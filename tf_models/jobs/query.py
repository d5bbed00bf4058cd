"""Querying a finished run or an export (`python -m tf_models predict`,
and the main job's queries): one function for every kind of model.

The run or export knows its task (a run's `config.json`, an export's
`settings["task"]`); its serving module says how to ask it and how to
print the answers (`ServingModule.query`).
"""

from pathlib import Path

from tf_models.jobs.configs import load_job, serving_module


def run_decoding(job, changes):
    """The run's `DecodingConfig` with the decoding flags' `changes` (None
    for runs that do not decode)."""
    if getattr(job, "decoding", None) is None:
        if changes:
            print("note: decoding options are for translation and language-model runs; ignored")
        return None
    return job.decoding.replace(**changes)  # a ValueError names the option that does not fit


def query(path, texts, decoding=None, context=None, second=None):
    """Asks a finished run or an export about `texts`: what
    `python -m tf_models predict` prints, as a list of lines.

    Args:
        path: a run's output directory, or an export (`saved_models/NAME[/VERSION]`).
        texts: the strings to ask about.
        decoding: changes to the `DecodingConfig` of a translation or
            language-model run, e.g. `{"method": "greedy"}` (default: decode
            as the run was evaluated).
        context: the text that a question-answering model answers from.
        second: the second text of each pair (classifiers and regressors of pairs).
    """
    from tf_models.export import load_export, read_export_info

    if (Path(path) / "config.json").exists():
        job = load_job(path)
        module = next(iter(job.inference_modules(run_decoding(job, decoding or {})).values()))
        return type(module).query(lambda name: getattr(module, module.SERVING_SIGNATURES[name]),
                                  texts, context, second)
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} does not exist: give a run's --output-dir or an export under saved_models/.")
    if decoding:
        print("note: an export decodes as it was exported; decoding options are ignored")
    signatures = load_export(path).signatures
    module_class = serving_module(read_export_info(path)["settings"]["task"])
    return module_class.query(lambda name: signatures[name], texts, context, second)
