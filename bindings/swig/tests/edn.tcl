# edn.tcl -- a minimal EDN splitter for the Tcl conformance runner.
#
# It does not interpret values (the engine does that: value_convert prints
# any EDN canonically); it only finds the structure of a text, so the runner
# can pick a case's steps and a step's arguments and hand their source text
# to the engine.  A node is a list
#
#     {kind start end children tag}
#
#     kind      map vec list set tagged string char atom
#     start end byte range of the node in the text (inclusive)
#     children  the nodes inside (a map's are key, value, key, value ...;
#               a tagged literal's is its one form)
#     tag       the tag of a tagged literal (datahike/Datom, inst, :ns ...)
#
#   {:op :q :inputs [1 "a"]}
#   ^map--------------------^   children: atom(:op) atom(:q) atom(:inputs) vec
#
# Comments (;), commas and #_ discards are skipped.  Malformed text raises a
# Tcl error naming the offset.

namespace eval edn {
    variable text ""
    variable pos 0
    variable len 0
}

proc edn::read {s} {
    variable text $s
    variable pos 0
    variable len [string length $s]
    set n [edn::form]
    edn::skip
    if {$pos < $len} { error "edn: trailing text at offset $pos" }
    return $n
}

proc edn::skip {} {
    variable text
    variable pos
    variable len
    while {$pos < $len} {
        set c [string index $text $pos]
        if {[string is space $c] || $c eq ","} {
            incr pos
        } elseif {$c eq ";"} {
            set e [string first "\n" $text $pos]
            set pos [expr {$e < 0 ? $len : $e + 1}]
        } elseif {$c eq "#" && [string index $text [expr {$pos + 1}]] eq "_"} {
            incr pos 2
            edn::form
        } else {
            return
        }
    }
}

proc edn::delim {c} {
    expr {$c eq "" || [string is space $c] || [string first $c ",()\[\]{}\";"] >= 0}
}

proc edn::seq {kind close start} {
    variable text
    variable pos
    set kids {}
    while 1 {
        edn::skip
        set c [string index $text $pos]
        if {$c eq ""} { error "edn: unterminated $kind starting at offset $start" }
        if {$c eq $close} { break }
        lappend kids [edn::form]
    }
    set n [list $kind $start $pos $kids ""]
    incr pos
    return $n
}

proc edn::form {} {
    variable text
    variable pos
    variable len
    edn::skip
    if {$pos >= $len} { error "edn: unexpected end of text" }
    set start $pos
    set c [string index $text $pos]
    switch -- $c {
        "\{" { incr pos; return [edn::seq map "\}" $start] }
        "\[" { incr pos; return [edn::seq vec "\]" $start] }
        "("  { incr pos; return [edn::seq list ")" $start] }
        ")" - "\]" - "\}" { error "edn: unexpected '$c' at offset $pos" }
        "\"" {
            incr pos
            while 1 {
                set d [string index $text $pos]
                if {$d eq ""} { error "edn: unterminated string at offset $start" }
                if {$d eq "\\"} { incr pos 2; continue }
                if {$d eq "\""} { break }
                incr pos
            }
            incr pos
            return [list string $start [expr {$pos - 1}] {} ""]
        }
        "\\" {
            incr pos 2
            while {![edn::delim [string index $text $pos]]} { incr pos }
            return [list char $start [expr {$pos - 1}] {} ""]
        }
        "#" {
            if {[string index $text [expr {$pos + 1}]] eq "\{"} {
                incr pos 2
                return [edn::seq set "\}" $start]
            }
            incr pos
            set t $pos
            while {![edn::delim [string index $text $pos]]} { incr pos }
            set tag [string range $text $t [expr {$pos - 1}]]
            set f [edn::form]
            return [list tagged $start [lindex $f 2] [list $f] $tag]
        }
    }
    while {![edn::delim [string index $text $pos]]} { incr pos }
    return [list atom $start [expr {$pos - 1}] {} ""]
}

# The source text of a node.
proc edn::src {text node} {
    string range $text [lindex $node 1] [lindex $node 2]
}

# The value node under key `k` (its source text, e.g. ":op") of a map
# node, or "" if absent.
proc edn::get {text node k} {
    if {[lindex $node 0] ne "map"} { return "" }
    foreach {kn vn} [lindex $node 3] {
        if {[edn::src $text $kn] eq $k} { return $vn }
    }
    return ""
}

# The contents of an EDN string literal node as a Tcl string.
proc edn::str {text node} {
    set s [string range $text [expr {[lindex $node 1] + 1}] [expr {[lindex $node 2] - 1}]]
    subst -nocommands -novariables $s
}
