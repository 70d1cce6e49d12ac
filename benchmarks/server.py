"""The benchmark's AWS: a moto server in its own process, seeded with an N-account organization,
answering every request after an injected delay and counting requests by account and action.

    python benchmarks/server.py --accounts 100 --latency-ms 20

It runs apart from the suite so that moto's request handling does not compete with the suite
for one GIL, as AWS does not. Seeding goes through this same server over HTTP, in this process,
because rootguard.fixtures.scenario writes what moto has no API for straight onto moto's backends. When
ready it prints one JSON line on stdout: {"endpoint", "accounts", "seed_seconds", "seed_requests"}.

Control paths, neither delayed nor counted:
  GET  /__bench/stats   requests by (account, action), repeated requests, server CPU seconds
  POST /__bench/reset   zero the counters (after seeding, between runs)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import resource
import signal
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import population  # noqa: E402

CONTROL_PREFIX = "/__bench/"


def credential_scope(authorization: str) -> tuple[str, str, str]:
    """(access key id, region, signing name) from a SigV4 Authorization header."""
    _, _, rest = authorization.partition("Credential=")
    parts = rest.split(",", 1)[0].split("/")
    if len(parts) < 4:
        return "", "", ""
    return parts[0], parts[2], parts[3]


class Meter:
    """WSGI middleware: delay every request by the latency and count it, then hand it to moto."""

    def __init__(self, app, latency_seconds: float):
        self.app = app
        self.latency = latency_seconds
        self.delay = 0.0  # seeding runs undelayed: its cost is not what is measured
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter = Counter()
            self.signatures: Counter = Counter()
            self.cpu_at_reset = time.process_time()
            self.peak_threads = 0
            self.wall_at_reset = time.monotonic()

    @staticmethod
    def account_of(access_key: str) -> str:
        # moto's own answer (remembered per key by speed_up_moto), so counts match what moto served.
        import moto.iam.models

        return moto.iam.models.get_account_id_from(access_key)

    @staticmethod
    def operation(environ: dict, body: bytes, signing_name: str) -> str:
        """The API operation, as moto's own router finds it for every protocol."""
        from moto.core.request import Request
        from moto.core.routing import get_service_router

        path = environ.get("PATH_INFO", "")
        # S3 Control signs as "s3"; its paths carry its API version.
        service = {"monitoring": "cloudwatch"}.get(signing_name, signing_name)
        if service == "s3" and path.startswith("/v20180820/"):
            service = "s3control"
        try:
            probe = dict(environ, **{"wsgi.input": io.BytesIO(body)})
            model, _ = get_service_router(service).match(Request(probe))
            return f"{service}:{model.name}"
        except Exception:
            return f"{service}:{environ.get('REQUEST_METHOD')} {path}"

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self.control(path[len(CONTROL_PREFIX):], start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if self.delay:
            time.sleep(self.delay)
        access_key, region, signing_name = credential_scope(environ.get("HTTP_AUTHORIZATION", ""))
        account = self.account_of(access_key)
        action = self.operation(environ, body, signing_name)
        # The same request twice (same account, action, target and body) is a repeated call.
        digest = hashlib.sha1(
            "\0".join((environ.get("REQUEST_METHOD", ""), path, environ.get("QUERY_STRING", ""))).encode() + b"\0" + body
        ).hexdigest()
        with self._lock:
            self.requests[(account, action)] += 1
            self.signatures[(account, region, action, digest)] += 1
            # One thread per open client connection (kept alive between requests).
            self.peak_threads = max(self.peak_threads, threading.active_count())
        return self.app(environ, start_response)

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": [[account, action, count] for (account, action), count in sorted(self.requests.items())],
                "total": sum(self.requests.values()),
                "distinct": len(self.signatures),
                "repeated": [
                    {"account": a, "region": r, "action": act, "times": n}
                    for (a, r, act, _), n in sorted(self.signatures.items())
                    if n > 1
                ],
                "cpu_seconds": round(time.process_time() - self.cpu_at_reset, 3),
                "wall_seconds": round(time.monotonic() - self.wall_at_reset, 3),
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "threads": threading.active_count(),
                "peak_threads": self.peak_threads,
            }

    def control(self, command: str, start_response):
        if command == "reset":
            self.reset()
            payload = {"reset": True}
        elif command == "stats":
            payload = self.stats()
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"unknown benchmark command\n"]
        body = json.dumps(payload).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def speed_up_moto() -> None:
    """Remove two per-request costs of moto's server that AWS does not have, so that the server's
    CPU, which shares this 2-core machine with the suite, is spent answering requests.

    - Finding the service of a request lists moto's package directory and stats every entry
      (moto.backends.list_of_moto_modules), on every request: the listing never changes.
    - Finding the account of an access key scans every account's IAM backend in every
      partition (moto.iam.models.get_account_id_from), on every request: O(accounts). A key
      belongs to one account for its whole life, so the answer is remembered per key.
    """
    import functools

    import moto.backends
    import moto.iam.models

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules
    moto.iam.models.get_account_id_from = functools.lru_cache(maxsize=None)(moto.iam.models.get_account_id_from)


def keep_alive_handler():
    """moto's request handler with HTTP/1.1 keep-alive, as AWS endpoints have.

    werkzeug's development server, which moto's server uses, closes the connection after every
    response. Against it a client opens a TCP connection (against AWS, a TLS session) per
    request, and the server starts a thread for each: a cost that AWS does not charge, which
    would be measured as the suite's. This handler reads exactly the request's Content-Length,
    answers with a Content-Length, and leaves the connection open for the next request.
    Requests with a chunked body, which the suite never sends, get werkzeug's own handling.
    """
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Small answers go out at once: with Nagle's algorithm on, a response written in two
            # parts waits for the client's delayed acknowledgement (40 ms) between them.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def run_wsgi(self) -> None:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self.close_connection = True
                return super().run_wsgi()
            environ = self.make_environ()
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length else b"")
            started: list = []

            def start_response(status, headers, exc_info=None):
                started[:] = [status, headers]
                return lambda data: chunks.append(data)

            chunks: list[bytes] = []
            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    getattr(result, "close", lambda: None)()
                status, headers = started
            except Exception as exc:  # moto failed: answer 500 and drop the connection, as werkzeug does
                self.server.log("error", f"Error on request: {exc!r}")
                status, headers, chunks = "500 Internal Server Error", [("Content-Type", "text/plain")], [b"internal error\n"]
                self.close_connection = True
            body = b"".join(chunks)
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            # Status line, headers and body in one write (one packet for most answers).
            self._headers_buffer.append(b"\r\n")
            head = b"".join(self._headers_buffer)
            self._headers_buffer = []
            self.wfile.write(head + (body if environ["REQUEST_METHOD"] != "HEAD" else b""))

    return KeepAliveHandler


def start(accounts: int, latency_ms: float, host: str, port: int, wrap=None):
    """Start the counting moto server in a thread and seed it; return (server, meter, ready line).

    `wrap`, given moto's WSGI application, returns the application the meter hands requests to
    (benchmarks/standin.py records through it).
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from rootguard.fixtures import motoext
    from rootguard.fixtures.scenario import scenario_from_dict, seed

    # Patch before the first request: moto builds a service's routes when it first serves it.
    motoext.install()
    speed_up_moto()
    app = DomainDispatcherApplication(create_backend_app)
    meter = Meter(wrap(app) if wrap else app, latency_ms / 1000)
    server = make_server(host, port, meter, threaded=True, request_handler=keep_alive_handler())
    # Each request gets a thread; the default backlog of 5 would refuse connections under a burst.
    server.socket.listen(1024)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    endpoint = f"http://{host}:{server.server_address[1]}"

    started = time.perf_counter()
    scenario = scenario_from_dict(population.organization(accounts), name=f"benchmark-{accounts}")
    seed(scenario, endpoint_url=endpoint)
    seed_seconds = time.perf_counter() - started
    # The seeding's own requests are reported, then forgotten: runs are measured from zero.
    seed_requests = meter.stats()["total"]
    meter.reset()
    meter.delay = meter.latency
    ready = {"endpoint": endpoint, "accounts": len(scenario.accounts), "seed_seconds": round(seed_seconds, 2), "seed_requests": seed_requests}
    return server, meter, ready


def serve(accounts: int, latency_ms: float, host: str, port: int) -> None:
    server, _, ready = start(accounts, latency_ms, host, port)
    print(json.dumps(ready), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/server.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, required=True, help="accounts in the organization, management included")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="delay added to every request (default %(default)s)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 for any free port (default)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    serve(args.accounts, args.latency_ms, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
