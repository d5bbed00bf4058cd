"""The training jobs behind the command line and the main job.

A job is a frozen config (`configs.py`: a dataclass whose fields are the
command-line options) that knows how to run itself:

>>> job = TranslationJob(output_dir="runs/translation", preset="tiny")  # doctest: +SKIP
>>> results = job.run()           # data, tokenizer, fit, BLEU, files  # doctest: +SKIP
>>> job.evaluate()                # score the finished run again      # doctest: +SKIP
>>> job.export("saved_models")    # TF Serving exports                # doctest: +SKIP

* `configs.py`: the jobs' options, and `JOBS`, the one list of them.
* `template.py`: `JobTemplate`, the sequence every job runs (run folder,
  strategy, data, tokenizer, batches, model, fit with resume, save,
  evaluate), with the slots a job fills.
* `translation.py`, `pretraining.py`, `finetuning.py`, `language_model.py`:
  one `JobTemplate` per job, and what it alone needs.
* `finetuning_tasks.py`: what each fine-tuning task adds (`classifier`,
  `regressor`, `tagger`, `question_answerer`), listed once in
  `FINETUNING_TASKS`.
* `corpora.py`: which corpus a job's `--source` names (`CORPORA`).
* `common.py`, `run_folder.py`: what every job shares (the run folder,
  stages, backups, the tokenizer files, exporting).

Importing this package imports no TensorFlow (the command line's `--help`
stays instant); the modules above that need it import it themselves.
"""

from tf_models.jobs.configs import (
    FINETUNING_TASKS,
    JOBS,
    FinetuningJob,
    LanguageModelJob,
    PretrainingJob,
    RunOptions,
    TranslationJob,
    finetuning_task,
    load_job,
    option,
    serving_module,
)

__all__ = [
    "FINETUNING_TASKS", "JOBS", "FinetuningJob", "LanguageModelJob", "PretrainingJob", "RunOptions", "TranslationJob",
    "finetuning_task", "load_job", "option", "serving_module",
]
