#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in for IANA and the five RDAP registries, serving recorded answers.

usage: rdap_server.py ROOT PORT

Serves ROOT's files at their paths (GET only, application/rdap+json), and answers with a
302 redirect for each line "PATH TARGET" in ROOT/redirects.txt (as ARIN does for blocks
another registry holds). Anything else is an RDAP 404 error object. Bound to 127.0.0.1:
run it inside a network namespace.
"""
import http.server
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1]).resolve()
REDIRECTS = {}
if (ROOT / "redirects.txt").exists():
    for line in (ROOT / "redirects.txt").read_text().splitlines():
        if line.strip():
            path, target = line.split()
            REDIRECTS[path] = target


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
            self.end_headers()
            return
        target = (ROOT / self.path.lstrip("/")).resolve()
        if ROOT in target.parents and target.is_file():
            body = target.read_bytes()
            self.send_response(200)
        else:
            body = json.dumps({"errorCode": 404, "title": "Not Found"}).encode()
            self.send_response(404)
        self.send_header("Content-Type", "application/rdap+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        sys.stderr.write("rdap-server: " + (args[0] % args[1:]) + "\n")


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
