#!/usr/bin/env python3
"""Generate code and documentation from spec/api.edn.

    python3 codegen/gen.py            write every enabled target's outputs
    python3 codegen/gen.py --check    write nothing; exit 1 with a unified
                                      diff if any output would change
    python3 codegen/gen.py --targets  list targets and what they generate

Standard library only: this runs before anything else is installed.

Steps: read and validate the spec (spec.py; every problem is reported with
file, line and operation), load the targets the spec enables
(targets/<name>.py), refuse to go on if an :implemented operation cannot be
bound by an enabled target, run each target's consistency checks, then
produce its outputs: whole files, or sections between marker lines of a
hand-written file.  Exit codes: 0 ok, 1 outputs differ (--check), 2 the spec
or a target refused.
"""

import argparse
import difflib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import spec as specmod  # noqa: E402
import targets  # noqa: E402
from targets import File, Section  # noqa: E402

ROOT = os.path.dirname(HERE)


class GenError(Exception):
    pass


def enabled_targets(spec):
    out = []
    for name, cfg in spec.targets.items():
        if name not in targets.ALL:
            raise GenError("spec :targets names unknown target :%s (known: %s)"
                           % (name, " ".join(targets.ALL)))
        # A target may also enable itself (python_cffi does, until the
        # spec's :targets entry says :enabled? true).
        if cfg.get("enabled?") or getattr(targets.load(name), "enabled", False):
            out.append(targets.load(name))
    return out


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def render(root, outputs):
    """{relative path: (old text or None, new text)} for every output."""
    result = {}
    for o in outputs:
        full = os.path.join(root, o.path)
        old = result[o.path][1] if o.path in result else _read(full)
        if isinstance(o, File):
            new = o.text
        elif isinstance(o, Section):
            if old is None:
                raise GenError("%s: missing; it must exist and contain the generated-section markers"
                               % o.path)
            b = old.find(o.begin + "\n")
            e = old.find(o.end, b + 1) if b >= 0 else -1
            if b < 0 or e < 0 or old.count(o.begin) != 1 or old.count(o.end) != 1:
                raise GenError("%s: needs exactly one line %r and, after it, one line %r"
                               % (o.path, o.begin, o.end))
            new = old[:b + len(o.begin) + 1] + o.text.lstrip("\n") + old[e:]
        else:
            raise GenError("unknown output %r" % (o,))
        first = result[o.path][0] if o.path in result else _read(full)
        result[o.path] = (first, new)
    return result


def run(root=ROOT, spec_path=None, check=False, out=sys.stdout, err=sys.stderr,
        target_list=None):
    """Generate (or check) everything; returns the process exit code."""
    spec_path = spec_path or os.path.join(root, "spec", "api.edn")
    try:
        spec = specmod.load(spec_path, os.path.relpath(spec_path, root))
        tlist = enabled_targets(spec) if target_list is None else target_list
        problems = targets.check_bindable(spec, tlist)
        for t in tlist:
            if t.ready and hasattr(t, "check"):
                problems.extend(t.check(spec, root))
        if problems:
            raise GenError("\n".join(problems))
        outputs = []
        for t in tlist:
            outputs.extend(t.generate(spec))
        files = render(root, outputs)
    except (specmod.SpecError, GenError) as e:
        err.write("gen.py: refused:\n%s\n" % e)
        return 2

    changed = 0
    for path, (old, new) in sorted(files.items()):
        if old == new:
            continue
        changed += 1
        if check:
            diff = difflib.unified_diff((old or "").splitlines(True), new.splitlines(True),
                                        "a/" + path, "b/" + path)
            out.writelines(diff)
        else:
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(new)
            out.write("gen.py: wrote %s\n" % path)
    if check and changed:
        err.write("gen.py --check: %d generated file(s) out of date; run python3 codegen/gen.py\n"
                  % changed)
        return 1
    if check:
        out.write("gen.py --check: %d generated file(s) up to date\n" % len(files))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 with a diff if any output would change")
    ap.add_argument("--spec", help="the spec file (default: spec/api.edn)")
    ap.add_argument("--root", default=ROOT, help="the repository root")
    ap.add_argument("--targets", action="store_true", help="list the targets and exit")
    a = ap.parse_args(argv)
    if a.targets:
        for name in targets.ALL:
            t = targets.load(name)
            first = (t.design or "").strip().splitlines()[0]
            print("%-13s %-9s %s" % (name, "ready" if t.ready else "skeleton", first))
        return 0
    return run(root=a.root, spec_path=a.spec, check=a.check)


if __name__ == "__main__":
    sys.exit(main())
