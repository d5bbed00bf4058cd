"""TF_CONFIG read in one place: every part of the package agrees on who
trains and who writes the run's files."""

import json

import pytest

from tf_models.cluster import is_chief_task, read_tf_config, task_name, training_tasks
from tf_models.jobs.configs import writes_run_folder
from tf_models.training import choose_strategy_name

CHIEF_AND_WORKER = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}}


@pytest.mark.parametrize("task, chief", [({"type": "chief", "index": 0}, True),
                                         ({"type": "worker", "index": 0}, False)])
def test_a_chief_and_one_worker_are_two_processes_with_one_chief(task, chief):
    config = {**CHIEF_AND_WORKER, "task": task}
    assert read_tf_config({"TF_CONFIG": json.dumps(config)}) == config
    assert training_tasks(config) == 2 and choose_strategy_name(num_gpus=0, tf_config=config) == "multi_worker"
    assert is_chief_task(config) is chief and writes_run_folder(config) is chief
    assert task_name(config) == f"{task['type']} 0"


def test_without_a_chief_worker_0_writes_and_one_machine_always_does():
    workers = {"cluster": {"worker": ["a:1", "b:1"]}}
    assert [is_chief_task({**workers, "task": {"type": "worker", "index": i}}) for i in (0, 1)] == [True, False]
    assert read_tf_config({}) == {} and is_chief_task({}) and task_name({}) == ""
    # An evaluator beside the training tasks is not one of them.
    config = {"cluster": {"worker": ["a:1"], "evaluator": ["e:1"]}, "task": {"type": "worker", "index": 0}}
    assert training_tasks(read_tf_config({"TF_CONFIG": json.dumps(config)})) == 1


@pytest.mark.parametrize("text, message", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ("[1, 2]", "TF_CONFIG must be a JSON object"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 5}}', "TF_CONFIG's task"),
    ('{"cluster": {"worker": ["a:1"], "ps": ["p:1"]}, "task": {"type": "ps", "index": 0}}', "its 'ps' task"),
])
def test_a_tf_config_that_cannot_work_names_tf_config(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        read_tf_config({"TF_CONFIG": text})
