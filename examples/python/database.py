"""Create an in-memory database, transact schema and data, read datoms.

    python3 examples/python/database.py
"""

import datalith
from datalith import Keyword as K

config = '{:store {:backend :memory :id "example"} :schema-flexibility :write}'
datalith.create_database(config)
try:
    with datalith.connect(config) as conn:
        conn.transact([{K("db/ident"): K("person/name"), K("db/valueType"): K("db.type/string"),
                        K("db/cardinality"): K("db.cardinality/one")}])
        report = conn.transact([{K("db/id"): "ada", K("person/name"): "Ada"}])
        ada = report[K("tempids")]["ada"]
        with conn.db() as db:
            for datom in db.datoms("eavt", ada):
                e, a, v, tx, added = datom.value
                print("datom:", e, a, repr(v), added)
finally:
    datalith.delete_database(config)
