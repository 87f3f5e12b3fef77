#!/usr/bin/env python3
"""Rewrites a directory of YAML manifests as JSON, the way `kubectl get -o json` prints them:
one `kind: List` object per file, its documents as items, indented. For measuring dnsd's JSON
reader against its YAML reader on the same cluster (scripts/bench.sh startup).

usage: manifests-to-json.py YAML_DIR JSON_DIR
"""
import json
import pathlib
import sys

import yaml  # python3-yaml


def main() -> None:
    source, target = map(pathlib.Path, sys.argv[1:3])
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*.y*ml")):
        items = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        out = target / path.relative_to(source).with_suffix(".json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=4) + "\n")


if __name__ == "__main__":
    main()
