"""C signatures of operations, shared by the C header, the docs, the C
dispatch and SWIG targets, so every place shows the same declaration.

A fallible operation returns int (DATALITH_OK or a negative code) and hands
its result back through out-parameters named `out` (and `out_len` ...).  An
infallible one (:fallible? false) returns its :static result directly, or
void.
"""

import re
import textwrap


def params(spec, op):
    """[(c_param_text, arg_or_None)] in order; None marks the result."""
    out = []
    for a in op.args:
        for tmpl in spec.types[a.type]["c"].get("in", []):
            out.append((tmpl.replace("{name}", a.c_name), a))
    if op.fallible and op.ret_type != "void":
        for tmpl in spec.types[op.ret_type]["c"].get("out", []):
            out.append((tmpl.replace("{name}", "out"), None))
    return out


def return_type(spec, op):
    if op.fallible:
        return "int"
    if op.ret_type == "void":
        return "void"
    return spec.types[op.ret_type]["c"]["ret"]


def declaration(spec, op, api_macro="DATALITH_API ", width=79):
    """`DATALITH_API int name(params);` wrapped, continuation lines aligned
    under the first parameter."""
    rt = return_type(spec, op)
    head = "%s%s%s%s(" % (api_macro, rt, "" if rt.endswith("*") else " ", op.names["c"])
    ps = [p for p, _ in params(spec, op)] or ["void"]
    lines, cur = [], head
    indent = " " * len(head)
    for i, p in enumerate(ps):
        piece = p + (");" if i == len(ps) - 1 else ",")
        if cur == head or cur == indent:
            cur += piece
        elif len(cur) + 1 + len(piece) <= width:
            cur += " " + piece
        else:
            lines.append(cur)
            cur = indent + piece
    lines.append(cur)
    return "\n".join(lines)


def c_sentences(text):
    """Two spaces between sentences, as the rest of the header writes."""
    return re.sub(r"([.!?]) (?=[A-Z`(\"])", r"\1  ", text)


def comment(paragraphs, width=79):
    """A `/* ... ** ... */` block comment from paragraphs; a paragraph that
    is a list is emitted as pre-formatted lines."""
    body = []
    for p in paragraphs:
        if body:
            body.append("")
        if isinstance(p, list):
            body.extend(p)
        else:
            body.extend(textwrap.wrap(c_sentences(p), width - 3, break_on_hyphens=False,
                                      break_long_words=False) or [""])
    out = []
    for i, line in enumerate(body):
        lead = "/* " if i == 0 else "**" + (" " if line else "")
        out.append((lead + line).rstrip())
    out[-1] += " */"
    return "\n".join(out)


def hanging(label, text, label_width, width=79):
    """`label  text...` with continuation lines indented under the text."""
    first = label.ljust(label_width)
    return textwrap.wrap(c_sentences(text), width - 3, initial_indent=first,
                         subsequent_indent=" " * label_width,
                         break_on_hyphens=False, break_long_words=False) or [first.rstrip()]
