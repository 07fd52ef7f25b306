"""Hook for the shared conformance corpus (tests/conformance/*.edn, issue 6).

Skipped ONLY when tests/conformance/ holds no .edn files.  The format of a
case is documented in tests/conformance/README.md once the corpus lands;
until the database operations exist in the Python package, each file is
at least parsed by the engine's EDN reader and must round-trip through
Python values, so a corpus file that Python cannot represent is caught.
"""

import glob
import os

import pytest

from datalith import edn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "conformance")
FILES = sorted(glob.glob(os.path.join(CORPUS, "*.edn")))


@pytest.mark.skipif(not FILES, reason="tests/conformance/ has no .edn files yet "
                                      "(the corpus of issue 6 has not landed)")
@pytest.mark.parametrize("path", FILES or ["<none>"], ids=[os.path.basename(f) for f in FILES] or ["none"])
def test_conformance_file(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # A corpus file may hold several top-level forms; wrap them in a vector.
    cases = edn.loads("[" + text + "]")
    assert edn.loads(edn.dumps(cases)) == cases
