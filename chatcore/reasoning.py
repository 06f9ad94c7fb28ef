"""Reasoning ("thinking") text of a streamed reply, in the shapes providers send it.

Pure code (no SDK, Flask or Dash import); ``chatcore.client.stream_chat`` uses it.

Three shapes reach an OpenAI-compatible client:

1. a ``reasoning_content`` string in the streamed ``delta`` (DeepSeek
   https://api-docs.deepseek.com/guides/reasoning_model, Qwen on DashScope
   https://help.aliyun.com/zh/model-studio/deep-thinking, SiliconFlow, vLLM up to 0.10
   https://docs.vllm.ai/en/v0.10.0/features/reasoning_outputs.html);
2. a ``reasoning`` string in the ``delta`` (OpenRouter
   https://openrouter.ai/docs/use-cases/reasoning-tokens, Ollama's OpenAI endpoint
   (``Reasoning string `json:"reasoning"``` in ollama/openai/openai.go), vLLM 0.11+ which
   renamed ``reasoning_content`` https://docs.vllm.ai/en/v0.11.2/features/reasoning_outputs/);
3. ``<think>…</think>`` at the start of ``delta.content`` (Ollama before its ``think``
   support, vLLM or llama.cpp without a reasoning parser). Chat templates that write
   ``<think>`` into the prompt (DeepSeek-R1-0528, QwQ-32B, Qwen3-*-Thinking-2507 model
   cards) make the model send only the closing ``</think>``: see ``ThinkSplitter``'s
   ``start_in_reasoning`` (the Vercel AI SDK's ``extractReasoningMiddleware`` calls the
   same switch ``startWithReasoning``).

``delta_reasoning`` reads shapes 1 and 2, ``ThinkSplitter`` splits shape 3.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["reasoning", "content"]
Piece = tuple[Kind, str]

# delta fields carrying reasoning text, in order of preference (a gateway that sends
# both, e.g. vLLM while renaming the field, sends the same text twice)
REASONING_FIELDS = ("reasoning_content", "reasoning")
OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


def delta_reasoning(delta: object) -> str | None:
    """The reasoning text of one streamed ``choices[i].delta``, or ``None``.

    ``delta`` is the SDK's ``ChoiceDelta`` (pydantic, unknown fields kept as attributes
    and in ``model_extra``) or any object with those attributes. The first of
    ``REASONING_FIELDS`` that is a non-empty string wins; other types (``null``, an
    object) are ignored.
    """
    extra = getattr(delta, "model_extra", None) or {}
    for name in REASONING_FIELDS:
        value = extra.get(name) if name in extra else getattr(delta, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper beginning of ``tag``."""
    for size in range(min(len(text), len(tag) - 1), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class _Out:
    """Pieces in order; empty texts skipped, neighbours of the same kind merged."""

    def __init__(self) -> None:
        self.items: list[Piece] = []

    def add(self, kind: Kind, text: str) -> None:
        if not text:
            return
        if self.items and self.items[-1][0] == kind:
            self.items[-1] = (kind, self.items[-1][1] + text)
        else:
            self.items.append((kind, text))


class ThinkSplitter:
    """Splits streamed ``delta.content`` into reasoning and answer at ``<think>…</think>``.

    ``feed(text)`` takes each content delta in order and returns ``[(kind, text), …]``
    with ``kind`` ``"reasoning"`` or ``"content"``; ``close()`` at the end of the stream
    returns what was held back. The result does not depend on where the stream was cut
    into deltas (only the grouping of the pieces does).

    Rules (a think block counts only at the very start of the reply):

    - Leading whitespace, then ``<think>``: the text up to ``</think>`` is reasoning
      (its leading and trailing whitespace dropped); after ``</think>`` leading
      whitespace is dropped and the rest is the answer, passed through unchanged.
    - ``</think>`` with no opening tag before any other text (the template opened the
      block): an empty think block; the rest is the answer.
    - Anything else: the answer, byte-exact from its first character (leading
      whitespace included); a ``<think>`` or ``</think>`` later in it is text.
    - ``start_in_reasoning=True`` (the model's chat template writes ``<think>`` into the
      prompt): the reply starts inside the think block, so the text before the first
      ``</think>`` is reasoning; a leading ``<think>`` anyway is dropped.

    Only what may still turn out to be a tag is held back: leading whitespace and a
    partial ``<think>``/``</think>`` at the start, a partial ``</think>`` (and the
    whitespace before it) inside the block. Answer text is never held back once the
    answer has started, so a reply without tags streams with no delay.

    A think block still open at ``close()`` (Stop, a cut stream, a model that never
    closed it) is kept as reasoning and ``unclosed`` becomes ``True``.
    """

    def __init__(self, *, start_in_reasoning: bool = False) -> None:
        self.start_in_reasoning = start_in_reasoning
        self._state = "start"  # start → think → after → answer; closed after close()
        self._buf = ""
        self._reasoning_started = False
        self.unclosed = False

    @property
    def in_reasoning(self) -> bool:
        """True while the text being read is (or may be) inside the think block."""
        return self._state == "think" or (self._state == "start" and self.start_in_reasoning)

    def feed(self, text: str) -> list[Piece]:
        """The pieces that ``text`` (the next content delta) completes, in order."""
        if not text:
            return []
        if self._state in ("answer", "closed"):
            return [("content", text)]
        out = _Out()
        self._buf += text
        self._run(out, final=False)
        return out.items

    def close(self) -> list[Piece]:
        """The pieces still held back; afterwards ``unclosed`` tells whether the reply
        ended inside the think block, and ``feed`` passes text through as content."""
        if self._state == "closed":
            return []
        out = _Out()
        self._run(out, final=True)
        self._state, self._buf = "closed", ""
        return out.items

    def _reasoning(self, out: _Out, text: str, *, end: bool) -> None:
        """Emit reasoning text without the block's leading (and, at its end, trailing) whitespace."""
        if not self._reasoning_started:
            text = text.lstrip()
        if end:
            text = text.rstrip()
        if text:
            self._reasoning_started = True
            out.add("reasoning", text)

    def _run(self, out: _Out, *, final: bool) -> None:
        """Advance the state machine over the held text (``final``: no more text comes)."""
        while True:
            buf = self._buf
            if self._state == "start":
                rest = buf.lstrip()
                if rest.startswith(OPEN_TAG):
                    self._state, self._buf = "think", rest[len(OPEN_TAG):]
                    continue
                if rest.startswith(CLOSE_TAG):
                    self._state, self._buf = "after", rest[len(CLOSE_TAG):]
                    continue
                if not final and (not rest or OPEN_TAG.startswith(rest) or CLOSE_TAG.startswith(rest)):
                    return  # may still become a tag
                if self.start_in_reasoning:
                    self._state, self._buf = "think", rest
                    continue
                self._state, self._buf = "answer", ""
                out.add("content", buf)
                return
            if self._state == "think":
                index = buf.find(CLOSE_TAG)
                if index >= 0:
                    self._reasoning(out, buf[:index], end=True)
                    self._state, self._buf = "after", buf[index + len(CLOSE_TAG):]
                    continue
                if final:
                    self._reasoning(out, buf, end=True)
                    self._buf, self.unclosed = "", True
                    return
                keep = _partial_suffix(buf, CLOSE_TAG)
                body = buf[: len(buf) - keep]
                core = body.rstrip()
                self._reasoning(out, core, end=False)
                self._buf = buf[len(core):]  # trailing whitespace and a partial </think>
                return
            if self._state == "after":
                rest = buf.lstrip()
                self._buf = ""
                if rest:
                    self._state = "answer"
                    out.add("content", rest)
                return
            return


def starts_in_reasoning(model: str, prefilled_models: list[str] | tuple[str, ...]) -> bool:
    """Whether ``model``'s reply starts inside the think block: it is named in
    ``PREFILLED_THINK_MODELS`` (``prefilled_models``), exactly or by a prefix
    (``qwq`` covers ``qwq-32b``), as the context-window table matches names."""
    return any(name and model.startswith(name) for name in prefilled_models)


class ReasoningClock:
    """Times the thinking of one reply, for the stream's ``done`` event.

    ``see(name, now)`` for each event in order (``now``: ``time.monotonic()`` seconds);
    ``fields(now)`` at the end: ``{}`` when no ``reasoning`` event came, else
    ``{"ttft_reasoning_ms": float, "reasoning_ms": float}`` — ms from ``started`` to the
    first reasoning, and from it to the first ``delta`` after it (or to ``now`` when the
    answer never started). Rounded to 0.1 ms like ``ttft_ms``.
    """

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_reasoning: float | None = None
        self.answer_after: float | None = None

    def see(self, name: str, now: float) -> None:
        """Note one event of the stream."""
        if name == "reasoning" and self.first_reasoning is None:
            self.first_reasoning = now
        elif name == "delta" and self.first_reasoning is not None and self.answer_after is None:
            self.answer_after = now

    def fields(self, now: float) -> dict:
        """The timing fields for ``done`` (see the class docstring)."""
        if self.first_reasoning is None:
            return {}
        end = self.answer_after if self.answer_after is not None else now
        return {
            "ttft_reasoning_ms": round((self.first_reasoning - self.started) * 1000, 1),
            "reasoning_ms": round((end - self.first_reasoning) * 1000, 1),
        }
