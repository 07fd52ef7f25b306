"""Round-trip a value between Python and EDN through the datalith engine.

    python3 examples/python/values.py
"""

import datetime
import uuid

import datalith
from datalith import Keyword, edn

person = {
    Keyword("person/name"): "Ada",
    Keyword("person/langs"): {Keyword("clojure"), Keyword("c")},
    Keyword("person/born"): datetime.datetime(1815, 12, 10, tzinfo=datetime.timezone.utc),
    Keyword("person/id"): uuid.UUID("8a5f3c2e-0000-4000-8000-000000000001"),
}

text = edn.dumps(person)  # canonical EDN: keys and set elements sorted
print("datalith", datalith.version())
print(text)

back = edn.loads(text)
print("round trip:", "ok" if back == person else "MISMATCH")
print("name:", back[Keyword("person/name")], "| first lang:", sorted(back[Keyword("person/langs")])[0])
print("as JSON:", datalith.json_dumps(back[Keyword("person/langs")]))
