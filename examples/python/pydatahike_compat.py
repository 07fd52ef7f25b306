"""A pydatahike script run on datalith: only the import changed
(``from datahike import ...`` -> ``from datalith.compat.datahike import ...``).

    python3 examples/python/pydatahike_compat.py
"""

import json

from datalith.compat.datahike import create_database, database, delete_database, kw, q, transact

config = '{:store {:backend :mem :id "pydatahike-example"} :schema-flexibility :read}'
create_database(config)
transact(config, json.dumps([{"name": "Alice", "age": 30}, {"name": "Bob", "age": 25}]))
print("ages:", sorted(q("[:find ?n ?a :where [?e :name ?n] [?e :age ?a]]", [("db", config)])))
print("Bob's age:", q("[:find ?a . :in $ ?n :where [?e :name ?n] [?e :age ?a]]",
                      [("db", config), ("edn", '"Bob"')]))
delete_database(config)

# The high-level API: a database for the duration of a with block.
with database(backend=":memory", id="pydatahike-example-2") as db:
    db.transact([{"db/ident": ":name", "db/valueType": kw.STRING, "db/cardinality": kw.ONE}])
    db.transact([{"name": "Carol"}])
    print("names:", db.q("[:find ?n :where [?e :name ?n]]"))
    print("pull:", db.pull("[*]", 2))
