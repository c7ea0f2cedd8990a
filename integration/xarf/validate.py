#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Validate XARF v4 reports against the official schemas, offline.

usage: validate.py SCHEMA_DIR REPORT.json...

SCHEMA_DIR is the xarf-spec `schemas/v4` directory (../shared/corpus/xarf/schemas/v4):
every *.json in it and in types/ is registered under its $id, so the master schema's
references resolve without the network. Formats (uuid, date-time, email, hostname, ipv4,
ipv6) are checked. Prints one line per error; exit status 0 only when every report
validates, 2 when jsonschema is missing.
"""
import json
import pathlib
import sys

try:
    import jsonschema
    from referencing import Registry, Resource
except ImportError as e:  # pragma: no cover
    print(f"validate.py: {e}: install jsonschema (pip install jsonschema)", file=sys.stderr)
    sys.exit(2)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    resources = []
    for path in sorted(root.rglob("*.json")):
        schema = json.loads(path.read_text())
        if "$id" in schema:
            resources.append((schema["$id"], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    master = json.loads((root / "xarf-v4-master.json").read_text())
    validator_class = jsonschema.validators.validator_for(master)
    validator = validator_class(master, registry=registry, format_checker=validator_class.FORMAT_CHECKER)
    failed = 0
    for name in sys.argv[2:]:
        report = json.loads(pathlib.Path(name).read_text())
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
        for error in errors:
            print(f"{name}: {'/'.join(map(str, error.path)) or '(root)'}: {error.message}")
        failed += bool(errors)
        if not errors:
            print(f"{name}: valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
