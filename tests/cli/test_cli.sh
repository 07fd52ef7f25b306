#!/bin/sh
# End-to-end tests of the `datalith` command line on a temporary file store.
#
#   sh tests/cli/test_cli.sh PATH/TO/datalith
#
# Each check runs one command and compares its exit status and its output
# or error message with values worked out by hand from Datahike's rules:
# the first schema attribute is entity 1, user entities follow, the first
# transaction is 536870913; EDN prints canonically (sorted maps).
set -u
case $1 in /*) D=$1 ;; *) D=$(pwd)/$1 ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/datalith-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0
fail=0

# run ARGS...: runs the CLI, leaving status in $rc, stdout in $out, stderr in $err
run() {
    "$D" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; echo "  status: $rc"; echo "  stdout: $out"; echo "  stderr: $err"; }
# expect NAME STATUS EXACT-STDOUT
expect() { if [ "$rc" = "$2" ] && [ "$out" = "$3" ]; then ok; else bad "$1 (want status $2, stdout '$3')"; fi; }
# expect_err NAME STATUS SUBSTRING-OF-STDERR
expect_err() {
    case "$err" in
    *"$3"*) if [ "$rc" = "$2" ]; then ok; else bad "$1 (want status $2)"; fi ;;
    *) bad "$1 (want status $2, stderr containing '$3')" ;;
    esac
}
# expect_out NAME STATUS SUBSTRING-OF-STDOUT
expect_out() {
    case "$out" in
    *"$3"*) if [ "$rc" = "$2" ]; then ok; else bad "$1 (want status $2)"; fi ;;
    *) bad "$1 (want status $2, stdout containing '$3')" ;;
    esac
}

printf '{:store {:backend :file :path "%s/db"} :schema-flexibility :write}\n' "$T" >cfg.edn
printf '{"store": {"backend": ["!kw", "file"], "path": "%s/other"}}\n' "$T" >other.json
printf '{:store {:backend :file :path "%s/none"}}\n' "$T" >none.edn
cat >schema.edn <<'X'
[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]
X

# ---- meta
run --version;                    expect "--version" 0 "0.1.0"
run version;                      expect "version" 0 "0.1.0"
run --help;                       expect_out "--help lists transact" 0 "  transact conn tx"
run --help;                       expect_out "--help lists datoms" 0 "  datoms db args"
run transact --help;              expect_out "transact --help" 0 "usage: datalith transact conn [tx]"
run help schema;                  expect_out "help schema" 0 "usage: datalith schema db"
run;                              expect_err "no command" 2 "usage: datalith"

# ---- lifecycle
run database-exists edn:cfg.edn;  expect "exists before create" 0 "false"
run create-database edn:cfg.edn;  expect_out "create-database" 0 ":schema-flexibility :write"
run database-exists? edn:cfg.edn; expect "exists (spec name)" 0 "true"
run create-database edn:cfg.edn;  expect_err "create twice" 1 "datalith: create-database: "
run -if json create-database json:other.json; expect_out "create from json config" 0 ":backend :file"

# ---- transact: --tx-file, stdin, literal, JSON
run --tx-file schema.edn transact conn:cfg.edn
expect_out "transact --tx-file" 0 ":tempids {:db/current-tx 536870913}"
printf '[{:db/id "ada" :name "Ada" :age 36}]' >ada.edn
"$D" transact conn:cfg.edn <ada.edn >"$T/out" 2>"$T/err"; rc=$?; out=$(cat "$T/out"); err=$(cat "$T/err")
expect_out "transact from stdin" 0 '"ada" 3'
run transact conn:cfg.edn '[{:db/id "bo" :name "Bo"}]'
expect_out "transact literal" 0 '"bo" 4'
run -if json transact conn:cfg.edn '[{"db/id": "cy", "name": "Cy"}]'
expect_out "transact JSON literal" 0 '"cy" 5'
run transact conn:cfg.edn '[{:name 7}]'
expect_err "transact schema violation" 1 "datalith: transact: "

# ---- reads
run datoms db:cfg.edn '{:index :eavt :components [3]}'
expect "datoms eavt" 0 '[#datahike/Datom [3 :age 36 536870914 true] #datahike/Datom [3 :name "Ada" 536870914 true]]'
run datoms db:cfg.edn '{:index :aevt :components [:name]}'
expect "datoms aevt" 0 '[#datahike/Datom [3 :name "Ada" 536870914 true] #datahike/Datom [4 :name "Bo" 536870915 true] #datahike/Datom [5 :name "Cy" 536870916 true]]'
run datoms db:cfg.edn '{:index :avet :components [:name]}'
expect "datoms avet (name is not indexed)" 0 '[]'
run -f json datoms db:cfg.edn '{:index :eavt :components [4]}'
expect "datoms -f json" 0 '[["!tag","datahike/Datom",[4,["!kw","name"],"Bo",536870915,true]]]'
run schema db:cfg.edn
expect "schema" 0 '{:age {:db/cardinality :db.cardinality/one :db/id 2 :db/ident :age :db/valueType :db.type/long} :name {:db/cardinality :db.cardinality/one :db/id 1 :db/ident :name :db/valueType :db.type/string}}'
run reverse-schema db:cfg.edn;    expect_out "reverse-schema" 0 ":db/ident #{:age :name :db/ident}"
echo '{:index :eavt :components [5]}' >args.edn
run datoms db:cfg.edn edn:args.edn
expect "value from edn:FILE" 0 '[#datahike/Datom [5 :name "Cy" 536870916 true]]'
run -f cbor datoms db:cfg.edn '{:index :eavt :components [5]}'
if [ "$rc" = 0 ] && [ -n "$out" ]; then ok; else bad "-f cbor"; fi

# ---- snapshots: history, as-of, since (a change of Bo's name to Bob)
run transact conn:cfg.edn '[{:db/id 4 :name "Bob"}]'
expect_out "transact change" 0 ":max-tx 536870917"
run datoms history:cfg.edn '{:index :eavt :components [4]}'
expect "history:" 0 '[#datahike/Datom [4 :name "Bo" 536870915 true] #datahike/Datom [4 :name "Bo" 536870917 false] #datahike/Datom [4 :name "Bob" 536870917 true]]'
run datoms asof:536870916:cfg.edn '{:index :eavt :components [4]}'
expect "asof:T:" 0 '[#datahike/Datom [4 :name "Bo" 536870915 true]]'
run datoms since:536870916:cfg.edn '{:index :eavt :components [4]}'
expect "since:T:" 0 '[#datahike/Datom [4 :name "Bob" 536870917 true]]'
run datoms asof:12:cfg.edn '{:index :eavt}'
expect_err "asof: with a bad T" 1 "argument 1 (db): "
run entity db:cfg.edn 3
expect "entity" 0 '{:age 36 :name "Ada" :db/id 3}'

# ---- query and pull (the CLI's commands follow the spec: these exist once
# q and pull are implemented there)
if "$D" --help | grep -q '^  query '; then
    run query '[:find ?n :where [?e :name ?n] [?e :age 36]]' db:cfg.edn
    expect "query" 0 '#{["Ada"]}'
    run query '[:find ?n . :in $ ?e :where [?e :name ?n]]' db:cfg.edn 4
    expect "query with an input" 0 '"Bob"'
    run query '[:find ?n :in $ $2 :where [$2 4 :name ?n]]' db:cfg.edn asof:536870916:cfg.edn
    expect "query over two snapshots" 0 '#{["Bo"]}'
    run -f json query '[:find ?n . :where [3 :name ?n]]' db:cfg.edn
    expect "query -f json" 0 '"Ada"'
    run query '[:find ?n :where [?e :name ?n]' db:cfg.edn
    expect_err "query malformed" 1 "query: argument 1 (query): malformed edn:"
else
    echo "cli: query is not implemented in this build; its checks are skipped"
fi
if "$D" --help | grep -q '^  pull '; then
    run pull db:cfg.edn '[:name :age]' 3
    expect "pull" 0 '{:age 36 :name "Ada"}'
fi

# ---- export / import (history export: the retraction of "Bo" travels too;
# 12 datoms: 6 schema, Ada 2, Bo 1, Cy 1, the change 2; 5 transactions)
printf '{:store {:backend :file :path "%s/copy"} :schema-flexibility :write}\n' "$T" >copy.edn
run export history:cfg.edn dump.edn;  expect "export to a file" 0 ""
run create-database edn:copy.edn;     expect_out "create the copy" 0 ":backend :file"
run import conn:copy.edn dump.edn;    expect "import" 0 "{:datoms 12 :transactions 5}"
run datoms history:copy.edn '{:index :eavt :components [4]}'
expect "imported history" 0 '[#datahike/Datom [4 :name "Bo" 536870915 true] #datahike/Datom [4 :name "Bo" 536870917 false] #datahike/Datom [4 :name "Bob" 536870917 true]]'
run schema db:copy.edn
expect_out "imported schema" 0 ':name {:db/cardinality :db.cardinality/one :db/id 1 :db/ident :name :db/valueType :db.type/string}'
echo '[[1 :name "x" 536870913 true] 42]' >notdatoms.edn
run import conn:copy.edn notdatoms.edn; expect_err "import rejects a non-datom" 1 "element 2 of 'notdatoms.edn' is not a datom [e a v tx added]"
run export;                           expect_err "export usage" 2 "export: expected DB [FILE]"
run import db:copy.edn dump.edn;      expect_err "import needs conn:" 2 "expected conn:CFG, got 'db:copy.edn'"

# ---- convert is kept
out=$(echo '{:b 1 :a [1 2]}' | "$D" convert); rc=$?
expect "convert" 0 "{:a [1 2] :b 1}"

# ---- usage errors (status 2) and rejected input (status 1)
run bogus;                        expect_err "unknown command" 2 "datalith: unknown command 'bogus'"
run --frobnicate schema;          expect_err "unknown option" 2 "datalith: unknown option '--frobnicate'"
run -f yaml schema db:cfg.edn;    expect_err "unknown format" 2 "unknown output format 'yaml'"
run schema foo:cfg.edn;           expect_err "bad prefix" 2 "schema: argument 1 (db): expected db:CFG, history:CFG, asof:T:CFG or since:T:CFG, got 'foo:cfg.edn'"
run transact db:cfg.edn '[]';     expect_err "db where conn is needed" 2 "expected conn:CFG, got 'db:cfg.edn'"
run schema asof:cfg.edn;          expect_err "asof without T" 2 "must be asof:T:CFG"
run schema;                       expect_err "missing argument" 2 "schema: missing argument 1 (db)"
run schema db:cfg.edn extra;      expect_err "extra argument" 2 "schema: unexpected argument 'extra'"
run schema db:nope.edn;           expect_err "missing config file" 1 "cannot read 'nope.edn': No such file or directory"
run datoms db:cfg.edn edn:nope.edn; expect_err "missing value file" 1 "cannot read 'nope.edn'"
run schema db:none.edn;           expect_err "no database there" 1 "cannot connect to the database of 'none.edn'"
run datoms db:cfg.edn '{:index :eavt'
expect_err "malformed EDN" 1 "datoms: argument 2 (args): malformed edn:"
expect_err "malformed EDN position" 1 "line 1, column"
printf '[{:name "x"}\n {:name ]' >broken.edn
run --tx-file broken.edn transact conn:cfg.edn
expect_err "malformed tx file position" 1 "line 2, column"
run -if json transact conn:cfg.edn '[{"name": }]'
expect_err "malformed JSON" 1 "malformed json:"
run create-database cfg.edn;      expect_err "bare path hint" 1 "hint: 'cfg.edn' is a file; give it as edn:cfg.edn"

# ---- delete
run delete-database edn:cfg.edn;  expect "delete-database" 0 ""
run database-exists edn:cfg.edn;  expect "exists after delete" 0 "false"

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
