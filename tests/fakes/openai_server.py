"""A local OpenAI-compatible chat-completions server over real HTTP.

Tests point `ChatOpenAI(base_url=server.base_url)` at it, script what the
"model" answers, and read back exactly what the client sent:

    with FakeOpenAI() as server:
        server.reply('{"intent": "page", ...}')         # content of one answer
        server.reply_error(500, "boom", times=2)         # max_retries=1 -> 2 calls
        server.reply_tool_call("Schema", {"a": 1})       # function_calling
        model = ChatOpenAI(base_url=server.base_url, api_key="test", model="fake")
        ...
        server.requests[0].body["response_format"]

Served: POST /v1/chat/completions and /chat/completions (JSON or, when the
request asks for `stream`, server-sent events), GET /v1/models. An empty
queue answers 500 with an OpenAI-format error, so a test that forgot to
script a reply fails loudly instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    def text(self) -> str:
        """All message contents joined, for `in` assertions."""
        parts = []
        for m in self.messages:
            content = m.get("content")
            if isinstance(content, list):
                parts += [c.get("text", "") for c in content if isinstance(c, dict)]
            elif content:
                parts.append(str(content))
        return "\n".join(parts)


@dataclass
class Scripted:
    status: int = 200
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    raw: Any = None  # a full body to send as is (JSON-able or str)
    delay_s: float = 0.0
    finish_reason: str = "stop"


@dataclass
class FakeOpenAI:
    host: str = "127.0.0.1"
    model: str = "fake-model"
    queue: deque[Scripted] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    # --- scripting -------------------------------------------------------
    def reply(self, content: str | dict | list, *, times: int = 1, delay_s: float = 0.0) -> None:
        """The assistant message content of the next answer(s); dicts/lists are JSON-encoded."""
        text = content if isinstance(content, str) else json.dumps(content)
        self._push(Scripted(content=text, delay_s=delay_s), times)

    def reply_tool_call(self, name: str, arguments: dict | str, *, times: int = 1) -> None:
        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call = {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": name, "arguments": args},
        }
        self._push(Scripted(tool_calls=[call], finish_reason="tool_calls"), times)

    def reply_error(
        self, status: int = 500, message: str = "scripted failure", *, times: int = 1
    ) -> None:
        body = {"error": {"message": message, "type": "server_error", "code": None}}
        self._push(Scripted(status=status, raw=body), times)

    def reply_raw(self, body: Any, *, status: int = 200, times: int = 1) -> None:
        """Any body at all (a str is sent verbatim): for malformed-response tests."""
        self._push(Scripted(status=status, raw=body), times)

    def _push(self, item: Scripted, times: int) -> None:
        with self._lock:
            self.queue.extend([item] * times)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # --- HTTP ------------------------------------------------------------
    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        with self._lock:
            self.requests.append(
                RecordedRequest(request.method, request.url.path, dict(request.headers), body)
            )
            item = self.queue.popleft() if self.queue else None
        if item is None:
            return JSONResponse(
                {
                    "error": {
                        "message": "FakeOpenAI: no scripted response left",
                        "type": "server_error",
                    }
                },
                status_code=500,
            )
        if item.delay_s:
            await asyncio.sleep(item.delay_s)  # lets tests hit client timeouts
        if item.raw is not None:
            if isinstance(item.raw, str):
                return Response(item.raw, status_code=item.status, media_type="application/json")
            return JSONResponse(item.raw, status_code=item.status)
        message: dict[str, Any] = {"role": "assistant", "content": item.content}
        if item.tool_calls:
            message["tool_calls"] = item.tool_calls
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:16]}"
        created = int(time.time())
        model = body.get("model", self.model)
        if body.get("stream"):
            return StreamingResponse(
                self._stream(completion_id, created, model, message, item.finish_reason),
                media_type="text/event-stream",
            )
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": item.finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": len(raw) // 4,
                    "completion_tokens": len(item.content or "") // 4,
                    "total_tokens": (len(raw) + len(item.content or "")) // 4,
                },
            },
            status_code=item.status,
        )

    @staticmethod
    async def _stream(cid: str, created: int, model: str, message: dict, finish: str):
        def chunk(delta: dict, finish_reason: str | None) -> str:
            return (
                "data: "
                + json.dumps(
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                    }
                )
                + "\n\n"
            )

        yield chunk({"role": "assistant", "content": ""}, None)
        if message.get("content"):
            yield chunk({"content": message["content"]}, None)
        for i, call in enumerate(message.get("tool_calls") or []):
            yield chunk({"tool_calls": [{"index": i, **call}]}, None)
        yield chunk({}, finish)
        yield "data: [DONE]\n\n"

    async def _models(self, request: Request) -> Response:
        return JSONResponse(
            {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "fake"}]}
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # --- lifecycle -------------------------------------------------------
    def start(self) -> FakeOpenAI:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-openai"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("FakeOpenAI did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
