"""The solutions are scripts that tests/test_solutions.py runs, not modules
for pytest's doctest collection (`make test` collects notebooks/)."""

collect_ignore_glob = ["[0-9][0-9]_*.py"]
