"""Create an in-memory database, transact schema and data, read datoms,
query it, and travel back in time.

    python3 examples/python/database.py
"""

import datalith
from datalith import Keyword as K

config = '{:store {:backend :memory :id "example"} :schema-flexibility :write :keep-history? true}'
datalith.create_database(config)
try:
    with datalith.connect(config) as conn:
        conn.transact([
            {K("db/ident"): K("person/name"), K("db/valueType"): K("db.type/string"),
             K("db/cardinality"): K("db.cardinality/one"), K("db/unique"): K("db.unique/identity")},
            {K("db/ident"): K("person/lang"), K("db/valueType"): K("db.type/keyword"),
             K("db/cardinality"): K("db.cardinality/one")}])
        report = conn.transact([{K("db/id"): "ada", K("person/name"): "Ada", K("person/lang"): K("c")},
                                {K("db/id"): "rich", K("person/name"): "Rich",
                                 K("person/lang"): K("clojure")}])
        ada, first_tx = report.tempids["ada"], report.tx
        with conn.db() as db:
            for datom in db.datoms("eavt", ada):
                e, a, v, tx, added = datom.value
                print("datom:", e, a, repr(v), added)

        # Ada changes language: the card-one change retracts the old value.
        conn.transact([{K("person/name"): "Ada", K("person/lang"): K("rust")}])

        with conn.db() as db:
            query = "[:find ?n ?l :where [?e :person/name ?n] [?e :person/lang ?l]]"
            print("now:", sorted(db.q(query)))
            who = db.q("[:find ?n . :in $ ?l :where [?e :person/lang ?l] [?e :person/name ?n]]",
                       K("clojure"))
            print("speaks clojure:", who)
            print("pull:", db.pull("[:person/name :person/lang]", [K("person/name"), "Ada"]))
            with db.as_of(first_tx) as then:
                print("as of tx %d:" % first_tx, sorted(then.q(query)))
                print("then vs now:", db.q("[:find ?old ?new :in $ $2 :where [$2 ?e :person/name \"Ada\"]"
                                           " [$2 ?e :person/lang ?old] [$ ?e :person/lang ?new]]", then))
            with db.history() as h:
                changes = h.q("[:find ?l ?tx ?added :in $ ?e :where [?e :person/lang ?l ?tx ?added]]", ada)
                for lang, tx, added in sorted(changes, key=lambda c: (c[1], c[2])):
                    print("history: tx %d %s %s" % (tx, "asserted" if added else "retracted", lang))
finally:
    datalith.delete_database(config)
