"""A fake platform endpoint that honours ``Idempotency-Key`` like a payment API.

The first request with a key is executed (counted) and its response stored;
a repeat gets the stored response without executing again. Execution is
recorded before the (slow) response is sent, so a client killed mid-request
leaves a write the platform did but the client never heard about.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class IdempotentPlatform:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.executed: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.responses: dict[str, bytes] = {}
        self.lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                key = self.headers.get("Idempotency-Key", "")
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    echo = json.loads(body)
                except ValueError:
                    # A truncated body (the client died while sending) is refused
                    # unexecuted, as a real server would.
                    self.send_error(400)
                    return
                with platform.lock:
                    platform.received[key] += 1
                    if key not in platform.responses:
                        platform.executed[key] += 1
                        platform.responses[key] = json.dumps(
                            {"ok": True, "key": key, "echo": echo}
                        ).encode()
                    reply = platform.responses[key]
                time.sleep(platform.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client died mid-request; the write still happened

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/refunds"

    def __enter__(self) -> IdempotentPlatform:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
