"""A scripted OpenAI-compatible stub server on 127.0.0.1 for the LLM tests (standard library only)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class StubLLM:
    """Serves ``POST /v1/chat/completions`` from a script and records every request body.

    A script item is a string (the assistant's answer), or a dict with any of ``status`` (HTTP status),
    ``error`` (error message), ``sleep`` (seconds before answering), ``content``, ``headers``.
    The last item repeats when the script runs out. ``reject_response_format`` makes the server answer
    400 to any request that asks for structured output, like a server that only knows free text.
    """

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.reject_response_format = False
        self.lock = threading.Lock()
        self.base_url = ""

    def answers(self, *items: Any) -> StubLLM:
        self.script.extend(items)
        return self

    def next_item(self) -> Any:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else (self.script[0] if self.script else "{}")

    @property
    def last_user_message(self) -> str:
        return [m for m in self.requests[-1]["messages"] if m["role"] == "user"][-1]["content"]


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _handler(stub: StubLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout test)
                pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            with stub.lock:
                stub.requests.append(body)
                stub.headers.append({k.lower(): v for k, v in self.headers.items()})
            if not self.path.endswith("/v1/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            if stub.reject_response_format and "response_format" in body:
                kind = body["response_format"].get("type")
                self._send(
                    400,
                    {
                        "error": {
                            "message": f"response_format {kind} is not supported",
                            "type": "invalid_request",
                        }
                    },
                )
                return
            item = stub.next_item()
            if isinstance(item, str):
                item = {"content": item}
            time.sleep(item.get("sleep", 0))
            status = item.get("status", 200)
            if status != 200:
                self._send(
                    status,
                    {"error": {"message": item.get("error", "stub error"), "type": "x"}},
                    item.get("headers"),
                )
                return
            self._send(200, _completion(item.get("content", "{}"), body.get("model", "stub")))

    return Handler


@pytest.fixture
def llm_stub() -> Iterator[StubLLM]:
    stub = StubLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dead_url(free_port: int) -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    return f"http://127.0.0.1:{free_port}/v1"
