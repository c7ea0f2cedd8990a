#!/usr/bin/env python3
"""A local stand-in for AbuseIPDB's v2 `POST /api/v2/report` (the public service cannot be
reached from tests). Answers in the shapes the service documents: 200 with
{"data": {"ipAddress", "abuseConfidenceScore"}}; 401 for a wrong key; 429 with the
"once in 15 minutes" detail for an address reported by this key in the last 15 minutes;
and, for addresses listed in RATE_LIMITED (a file, one address per line, each answered
once), a 429 with Retry-After. Every request is appended to LOG as one JSON line.

Usage: abuseipdb_server.py PORT KEY LOG RATE_LIMITED_FILE RETRY_AFTER_SECONDS
"""
import json
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, KEY, LOG, LIMITED, RETRY = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
reported = {}  # address -> time of the accepted report
limited_done = set()


def limited():
    try:
        return {l.strip() for l in open(LIMITED) if l.strip()}
    except FileNotFoundError:
        return set()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        fields = {k: v[0] for k, v in form.items()}
        ip = fields.get("ip", "")
        entry = {"path": self.path, "key": self.headers.get("Key"), "accept": self.headers.get("Accept"),
                 "content_type": self.headers.get("Content-Type"), "fields": fields}
        if self.path != "/api/v2/report":
            entry["answer"] = 404
            self.answer(404, {"errors": [{"detail": "Not found.", "status": 404}]})
        elif self.headers.get("Key") != KEY:
            entry["answer"] = 401
            self.answer(401, {"errors": [{"detail": "Authentication failed. Your API key is either missing, incorrect, or revoked. "
                                                    "Note: The APIv2 key differs from the APIv1 key.", "status": 401}]})
        elif ip in limited() and ip not in limited_done:
            limited_done.add(ip)
            entry["answer"] = 429
            self.answer(429, {"errors": [{"detail": "Daily rate limit of 1000 requests exceeded for this endpoint. "
                                                    "See headers for additional details.", "status": 429}]},
                        [("Retry-After", RETRY), ("X-RateLimit-Limit", "1000"), ("X-RateLimit-Remaining", "0")])
        elif ip in reported and time.time() - reported[ip] < 900:
            entry["answer"] = "429-duplicate"
            self.answer(429, {"errors": [{"detail": "You can only report the same IP address (`%s`) once in 15 minutes." % ip,
                                          "status": 429, "source": {"parameter": "ip"}}]})
        else:
            reported[ip] = time.time()
            entry["answer"] = 200
            self.answer(200, {"data": {"ipAddress": ip, "abuseConfidenceScore": 52}})
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
