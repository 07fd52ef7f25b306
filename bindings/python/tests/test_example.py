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
