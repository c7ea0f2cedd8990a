#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks a sipwarden /metrics exposition with the Prometheus text-format parser.

Usage: check-metrics.py EXPOSITION_FILE [--require NAME ...] [--dashboard GRAFANA_JSON]

Fails (exit 1) when the file does not parse with prometheus_client's parser, when a
family lacks a TYPE or HELP, when a name does not start with sipwarden_ (or a label value
looks like an IP address: labels must come from small closed sets), when a histogram's
buckets are not cumulative or its +Inf bucket differs from _count, when a required family
is missing, or when an expression of the Grafana dashboard names a sipwarden_ series the
exposition does not have. Exit 2: prometheus_client is not installed.
"""
import argparse
import ipaddress
import json
import re
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("check-metrics: prometheus_client is not installed (pip install prometheus-client)", file=sys.stderr)
    sys.exit(2)


def looks_like_address(value):
    for candidate in (value, value.strip("[]"), value.rsplit(":", 1)[0].strip("[]")):
        try:
            ipaddress.ip_address(candidate)
            return True
        except ValueError:
            pass
        try:
            ipaddress.ip_network(candidate, strict=False)
            return "/" in candidate
        except ValueError:
            pass
    return False


def check_exposition(text):
    problems = []
    families = {}
    raw_types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    raw_helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    try:
        parsed = list(text_string_to_metric_families(text))
    except Exception as error:  # the parser raises ValueError and friends
        return {}, [f"the exposition does not parse: {error!r}"]
    for family in parsed:
        families[family.name] = family
        exposed = family.name + ("_total" if family.type == "counter" else "")
        if not exposed.startswith("sipwarden_"):
            problems.append(f"{exposed}: not prefixed sipwarden_")
        if exposed not in raw_types:
            problems.append(f"{exposed}: no TYPE line")
        if exposed not in raw_helps:
            problems.append(f"{exposed}: no HELP line")
        for sample in family.samples:
            for label, value in sample.labels.items():
                if label != "le" and looks_like_address(value):
                    problems.append(f"{sample.name}: label {label}={value!r} looks like an address")
        if family.type == "histogram":
            series = {}
            for sample in family.samples:
                key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
                entry = series.setdefault(key, {"buckets": [], "count": None})
                if sample.name.endswith("_bucket"):
                    entry["buckets"].append((float(sample.labels["le"]), sample.value))
                elif sample.name.endswith("_count"):
                    entry["count"] = sample.value
            for key, entry in series.items():
                buckets = sorted(entry["buckets"])
                counts = [c for _, c in buckets]
                if counts != sorted(counts):
                    problems.append(f"{family.name}{dict(key)}: buckets are not cumulative")
                if not buckets or buckets[-1][0] != float("inf") or buckets[-1][1] != entry["count"]:
                    problems.append(f"{family.name}{dict(key)}: +Inf bucket missing or not equal to _count")
    return families, problems


def series_names(families):
    names = set()
    for family in families.values():
        for sample in family.samples:
            names.add(sample.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update({family.name + "_bucket", family.name + "_sum", family.name + "_count"})
    return names


def dashboard_expressions(dashboard):
    def walk(panels):
        for panel in panels:
            yield from walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                if "expr" in target:
                    yield panel.get("title", "?"), target["expr"]
    variables = [
        (f"variable {v.get('name', '?')}", v["definition"])
        for v in dashboard.get("templating", {}).get("list", []) if v.get("definition")
    ]
    return list(walk(dashboard.get("panels", []))) + variables


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exposition")
    parser.add_argument("--require", action="append", default=[], help="a family that must be present")
    parser.add_argument("--dashboard", help="a Grafana dashboard JSON whose expressions must name exposed series")
    args = parser.parse_args()
    with open(args.exposition, encoding="utf-8") as handle:
        text = handle.read()
    families, problems = check_exposition(text)
    names = series_names(families)
    for required in args.require:
        if required not in names:
            problems.append(f"required metric {required} is missing")
    if args.dashboard:
        with open(args.dashboard, encoding="utf-8") as handle:
            dashboard = json.load(handle)
        expressions = dashboard_expressions(dashboard)
        if not expressions:
            problems.append("the dashboard has no expression")
        for title, expr in expressions:
            used = set(re.findall(r"\bsipwarden_[a-zA-Z0-9_]+", expr))
            if not used:
                problems.append(f"panel {title!r}: expression names no sipwarden_ metric: {expr}")
            for name in sorted(used - names):
                problems.append(f"panel {title!r}: {name} is not in the exposition")
    for problem in problems:
        print(f"check-metrics: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check-metrics: ok ({len(families)} families, {sum(len(f.samples) for f in families.values())} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
