"""The notebooks that `make test` executes in quick mode (nbmake) must also
write nothing to stderr beyond the allowlist of tests/notebook_outputs.py:
a warning there is one a learner running the notebook would see."""

import os

import pytest

from tests.notebook_outputs import unexpected_stderr


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not getattr(item, "nbmake", False):
        return (yield)
    from nbmake.nb_result import NotebookError, NotebookResult
    from nbmake.nb_run import NotebookRun
    from nbmake.pytest_items import NotebookFailedException

    # nbmake keeps the executed copy to itself: record what its run returns.
    results, execute = [], NotebookRun.execute

    def recording(self):
        # Under pytest (PYTEST_CURRENT_TEST set) ipykernel leaves what C code writes
        # to file descriptor 2 out of the notebook; a learner's kernel puts it in.
        current = os.environ.pop("PYTEST_CURRENT_TEST", None)
        try:
            results.append(execute(self))
        finally:
            if current is not None:
                os.environ["PYTEST_CURRENT_TEST"] = current
        return results[-1]

    NotebookRun.execute = recording
    try:
        outcome = yield
    finally:
        NotebookRun.execute = execute
    for result in results:
        unexpected = unexpected_stderr(result.nb)
        if unexpected:
            summary = f"{len(unexpected)} line(s) on stderr, first {unexpected[0]}"
            trace = (f"{item.name} wrote to stderr (fix the cause, or allow a line the lesson needs in "
                     "tests/notebook_outputs.py):\n" + "\n".join(unexpected))
            # nbmake's own failure, so that its report shows the lines.
            raise NotebookFailedException(NotebookResult(result.nb, NotebookError(summary, trace, -1)))
    return outcome
