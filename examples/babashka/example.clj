#!/usr/bin/env bb
;; examples/babashka/example.clj -- Datalith from a Babashka script.
;;
;; NOT RUN BY THE TEST SUITE: babashka (bb) is not installed on the build
;; machines.  The same protocol conversation is exercised by
;; tests/pod/test_pod.py, which speaks to datalith-pod directly.
;;
;; Build the pod (cmake --build build --target datalith_pod), put
;; build/bindings/pod/datalith-pod on PATH, then: bb examples/babashka/example.clj
;;
;; Connections and snapshots stay inside the pod; the script holds string
;; ids ("conn:1", "db:2").  Release them with release / release-db, or let
;; with-db do it.  Names follow Datahike's pod (datahike.pod), so a script
;; written for it mostly needs only the require changed.

(require '[babashka.pods :as pods])

(pods/load-pod "datalith-pod")
;; or, once published to the pod registry:
;; (pods/load-pod 'io.github.datalith/datalith "0.1.0")

(require '[datalith.pod :as d])

(def config {:store {:backend :file :path "/tmp/bb-datalith-pod"}
             :keep-history? true
             :schema-flexibility :write})

(when (d/database-exists? config)
  (d/delete-database config))
(d/create-database config)

(def conn (d/connect config))

(d/transact conn [{:db/ident :name :db/valueType :db.type/string
                   :db/cardinality :db.cardinality/one}
                  {:db/ident :age :db/valueType :db.type/long
                   :db/cardinality :db.cardinality/one}])

(def report (d/transact conn [{:db/id "alice" :name "Alice" :age 20}
                              {:db/id "bob" :name "Bob" :age 30}]))
(println "tempids:" (:tempids report))

;; A snapshot is a value: it does not see later transactions.
(def db (d/db conn))
(d/transact conn [{:db/id (get-in report [:tempids "bob"]) :age 31}])
(println "Bob then:" (d/datoms db {:index :eavt :components [(get-in report [:tempids "bob"]) :age]}))
(d/release-db db)

;; with-db releases the snapshot when the body is done.
(d/with-db [db (d/db conn)]
  (println "schema:" (d/schema db))
  (println "Bob now:" (d/entity db (get-in report [:tempids "bob"]))))

;; Errors arrive as ex-info with the engine's message and data.
(try
  (d/transact conn [{:name 42}])
  (catch clojure.lang.ExceptionInfo e
    (println "rejected:" (ex-message e) (ex-data e))))

(d/release conn)
