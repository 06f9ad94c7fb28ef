"""Context-window trimming: fit a conversation into the model's context window.

A request is ``messages`` in the OpenAI Chat Completions shape (system prompt first,
then the history, ending with the newest message). When the estimated prompt plus the
room reserved for the reply exceeds the model's context window, the oldest turns are
left out, always keeping every system message and the newest message.

Token counts are *estimates* (no tokenizer is shipped for every provider's models):
one token per CJK character, one per 4 other characters, plus 4 tokens of per-message
overhead (the ``<|start|>role ... <|end|>`` framing OpenAI documents for chat
models). This errs on the high side for English and Chinese text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .messages import Message

MESSAGE_OVERHEAD_TOKENS = 4
REPLY_PRIMING_TOKENS = 3  # every reply is primed with <|start|>assistant<|message|>

# CJK ideographs, kana, hangul and full-width forms: roughly one token each.
_WIDE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def estimate_tokens(text: str) -> int:
    """Estimated tokens in ``text``: wide (CJK) characters count 1, others 1/4 (rounded up)."""
    if not text:
        return 0
    wide = len(_WIDE.findall(text))
    return wide + math.ceil((len(text) - wide) / 4)


def message_tokens(message: Message) -> int:
    """Estimated tokens of one message including its framing overhead."""
    return MESSAGE_OVERHEAD_TOKENS + estimate_tokens(message["content"])


def context_window_for(model: str, table: dict[str, int], default: int) -> int:
    """The context window (tokens) of ``model``: exact match in ``table``, else the
    longest table key that is a prefix of the model name (``gpt-4o`` covers
    ``gpt-4o-2024-08-06``), else ``default``."""
    if model in table:
        return table[model]
    best = ""
    for name in table:
        if model.startswith(name) and len(name) > len(best):
            best = name
    return table[best] if best else default


@dataclass(frozen=True)
class TrimResult:
    """Outcome of :func:`trim_messages`.

    ``messages``: what to send; ``dropped``: how many history messages were left out;
    ``prompt_tokens``: the estimate for what is sent; ``budget``: tokens allowed for
    the prompt (context window minus the reply reserve).
    """

    messages: list[Message]
    dropped: int
    prompt_tokens: int
    budget: int


def trim_messages(messages: list[Message], *, context_window: int, reserve_tokens: int) -> TrimResult:
    """Leave out the oldest turns so that ``messages`` fit ``context_window``.

    Args:
        messages: system message(s) first, then history, newest last (not mutated).
        context_window: the model's context window in tokens (> 0).
        reserve_tokens: tokens kept free for the reply (``max_tokens`` when the user
            set it); capped at half the window so a huge ``max_tokens`` cannot empty
            the history.

    System messages and the newest message are always kept, even if they alone do not
    fit (the upstream then reports the overflow). After trimming, the history starts
    with a ``user`` message whenever one is left, so no orphan assistant reply leads.
    """
    if context_window <= 0:
        raise ValueError("context_window must be positive")
    reserve = max(0, min(reserve_tokens, context_window // 2))
    budget = context_window - reserve - REPLY_PRIMING_TOKENS
    system = [m for m in messages if m["role"] == "system"]
    history = [m for m in messages if m["role"] != "system"]
    if not history:
        total = sum(message_tokens(m) for m in system)
        return TrimResult(list(messages), 0, total, budget)
    fixed = sum(message_tokens(m) for m in system) + message_tokens(history[-1])
    kept_rev: list[Message] = [history[-1]]
    used = fixed
    for message in reversed(history[:-1]):
        cost = message_tokens(message)
        if used + cost > budget:
            break
        kept_rev.append(message)
        used += cost
    kept = list(reversed(kept_rev))
    # Do not start the history with an assistant reply whose question was cut.
    while len(kept) > 1 and len(kept) < len(history) and kept[0]["role"] == "assistant":
        used -= message_tokens(kept[0])
        kept.pop(0)
    dropped = len(history) - len(kept)
    if dropped == 0:
        return TrimResult(list(messages), 0, used, budget)
    # System messages keep their original position at the front.
    return TrimResult(system + kept, dropped, used, budget)


@dataclass(frozen=True)
class UpstreamRequest:
    """What one ``POST /api/chat/stream`` sends upstream.

    ``messages``: the Chat Completions ``messages`` (system prompt resolved, trimmed to
    the context window, the continue instruction last when continuing); ``model``: the
    model asked for, else the default; ``params``: the sampling parameters that are set
    (SDK keyword arguments); ``trim``: how trimming went (``dropped`` = history messages
    left out, ``prompt_tokens`` = the estimate, ``budget``); ``context_window``: tokens.
    """

    messages: list[Message]
    model: str
    params: dict
    trim: TrimResult
    context_window: int


def prepare_upstream(chat_request, settings, *, model: str | None = None, context_window: int | None = None) -> UpstreamRequest:
    """The one preparation of a chat request for the upstream (the stream endpoint and
    the tests both call this): the operator's ``SYSTEM_PROMPT`` and the user's system
    prompt (``chatcore.messages.prepare_messages``), then trimming to the model's context
    window with the reply's reserve (``max_tokens`` when set, else
    ``CONTEXT_RESERVE_TOKENS``), then — for ``continue_reply`` — the continue
    instruction after the partial reply (never trimmed away).

    Args:
        chat_request: a validated ``chatcore.messages.ChatRequest``.
        settings: a ``config.Settings`` (``system_prompt``, ``system_prompt_editable``,
            ``openai_model``, ``context_window(model)``, ``context_reserve_tokens``).
        model, context_window: the model name sent upstream and its window (tokens)
            when a connection route decided them (``chatcore.connections``); else the
            request's model (or the default) and ``settings.context_window``.
    """
    from .messages import CONTINUE_INSTRUCTION, prepare_messages

    model = model or chat_request.model or settings.openai_model
    context_window = context_window or settings.context_window(model)
    # the operator's SYSTEM_PROMPT first, the user's after it (SYSTEM_PROMPT_EDITABLE: replaced)
    resolved = prepare_messages(
        settings.system_prompt, chat_request.system_prompt, chat_request.messages,
        editable=settings.system_prompt_editable,
    )
    trim = trim_messages(
        resolved, context_window=context_window,
        reserve_tokens=chat_request.max_tokens or settings.context_reserve_tokens,
    )
    messages = trim.messages
    if chat_request.continue_reply:
        messages = messages + [{"role": "user", "content": CONTINUE_INSTRUCTION}]
    return UpstreamRequest(messages, model, chat_request.sampling_params(), trim, context_window)
