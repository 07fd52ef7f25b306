"""The examples in examples/python/ run and print what they promise."""

import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_values_example():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "values.py")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert ':person/langs #{:c :clojure} :person/name "Ada"}' in p.stdout
    assert "round trip: ok" in p.stdout


def test_database_example():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "database.py")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "datom: " in p.stdout and ":person/name 'Ada' True" in p.stdout


def test_database_example_queries_and_time_travel():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "database.py")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "speaks clojure: Rich" in out
    assert "now: [('Ada', Keyword(':rust')), ('Rich', Keyword(':clojure'))]" in out
    assert "as of tx 536870914: [('Ada', Keyword(':c')), ('Rich', Keyword(':clojure'))]" in out
    assert "then vs now: {(Keyword(':c'), Keyword(':rust'))}" in out
    assert ("history: tx 536870914 asserted :c\nhistory: tx 536870915 retracted :c\n"
            "history: tx 536870915 asserted :rust") in out


def test_pydatahike_compat_example():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "pydatahike_compat.py")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "ages: [('Alice', 30), ('Bob', 25)]" in p.stdout
    assert "Bob's age: 25" in p.stdout
    assert "names: {('Carol',)}" in p.stdout
