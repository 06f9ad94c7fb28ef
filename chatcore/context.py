"""Context-window trimming: fit a conversation into the model's context window.

A request is ``messages`` in the OpenAI Chat Completions shape (system prompt first,
then the history, ending with the newest message). When the estimated prompt plus the
room reserved for the reply exceeds the model's context window, the oldest turns are
left out, always keeping every system message and the newest message.

Token counts are *estimates* (no tokenizer is shipped for every provider's models):
one token per CJK character, one per 4 other characters, plus 4 tokens of per-message
overhead (the ``<|start|>role ... <|end|>`` framing OpenAI documents for chat
models). This errs on the high side for English and Chinese text. ``estimate_tokens``
is the app's one estimator: trimming, usage budgets (``chatcore.budgets``), the backend
adapter's usage and the token count of an extracted document (``chatcore.attachments``)
all call it.

Attachments (issue 13): a ``document`` part becomes a text block headed by its file
name (``document_block``); a document that does not fit the context window is cut
(``Notice`` ``document_cut``, never silently); an image counts ``IMAGE_TOKENS``. What is
sent upstream is a plain string when no image is left, else OpenAI's list of ``text``
and ``image_url`` parts (``flatten``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .messages import Message

MESSAGE_OVERHEAD_TOKENS = 4
REPLY_PRIMING_TOKENS = 3  # every reply is primed with <|start|>assistant<|message|>
# One image, whatever its size: OpenAI's high-detail cost of a 2048×1024 image, the
# largest common shape the page sends (IMAGE_MAX_SIDE 2048): scaled to 1536×768, six
# 512-px tiles × 170 + 85 base = 1105 tokens ("Calculating costs",
# https://platform.openai.com/docs/guides/images-vision). A square image costs 765, a
# low-detail one 85: the estimate errs high, as the text estimate does.
IMAGE_TOKENS = 1105

# CJK ideographs (with the extension planes), kana, hangul and full-width forms:
# roughly one token each.
_WIDE = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")


def estimate_tokens(text: str) -> int:
    """Estimated tokens in ``text``: wide (CJK) characters count 1, others 1/4 (rounded up)."""
    if not text:
        return 0
    wide = len(_WIDE.findall(text))
    return wide + math.ceil((len(text) - wide) / 4)


def _longest_backtick_run(text: str) -> int:
    """Length of the longest run of backticks in ``text`` (0 when there is none)."""
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def document_block(name: str, text: str, cut_note: str = "") -> str:
    """The text a ``document`` part is sent as: a heading line with the file name, then
    the text in a fence of backticks longer than any backtick run inside it (at least
    three, CommonMark §4.5), so the file cannot close the fence early; ``cut_note``
    (when the text was cut) after the fence."""
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    block = f"File: {name}\n{fence}\n{text}\n{fence}"
    return block + ("\n" + cut_note if cut_note else "")


def part_tokens(part: dict) -> int:
    """Estimated tokens of one content part: its text (a document as its whole block),
    an image ``IMAGE_TOKENS``."""
    kind = part.get("type")
    if kind == "image_url":
        return IMAGE_TOKENS
    if kind == "document":
        return estimate_tokens(document_block(part["name"], part["text"], part.get("cut_note", "")))
    return estimate_tokens(part.get("text") or "")


def message_tokens(message: Message) -> int:
    """Estimated tokens of one message including its framing overhead (a list content:
    the sum of its parts, ``part_tokens``)."""
    content = message["content"]
    if isinstance(content, str):
        return MESSAGE_OVERHEAD_TOKENS + estimate_tokens(content)
    return MESSAGE_OVERHEAD_TOKENS + sum(part_tokens(part) for part in content)


def prompt_budget(context_window: int, reserve_tokens: int) -> int:
    """Tokens the prompt may use: the window minus the reply's reserve (capped at half
    the window) and the reply's priming."""
    reserve = max(0, min(reserve_tokens, context_window // 2))
    return context_window - reserve - REPLY_PRIMING_TOKENS


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
    budget = prompt_budget(context_window, reserve_tokens)
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


def cut_to_tokens(text: str, tokens: int) -> str:
    """The longest start of ``text`` whose ``estimate_tokens`` is at most ``tokens``
    (binary search: the estimate grows with the length)."""
    if tokens <= 0:
        return ""
    if estimate_tokens(text) <= tokens:
        return text
    low, high = 0, len(text)  # estimate(text[:low]) <= tokens < estimate(text[:high])
    while high - low > 1:
        middle = (low + high) // 2
        if estimate_tokens(text[:middle]) <= tokens:
            low = middle
        else:
            high = middle
    return text[:low]


def cut_note(name: str, sent_tokens: int, tokens: int) -> str:
    """The line after a cut document's block, so the model knows it saw a part only."""
    return (f"[{name} was cut to fit the context window: only about {sent_tokens} of its "
            f"{tokens} tokens are above.]")


# an image of an older turn, for a model that does not accept images (prepare_upstream)
IMAGE_LEFT_OUT = "[image left out: this model does not accept images]"


def _cut_documents(message: Message, over: int, notices: list[dict]) -> Message:
    """``message`` with the text of its ``document`` parts cut, the last document first,
    until its estimate is ``over`` tokens smaller (or every document is empty); a
    ``document_cut`` notice for each document cut, in the message's order."""
    parts = [dict(part) for part in message["content"]]
    cuts: dict[int, dict] = {}
    for index in reversed(range(len(parts))):
        if over <= 0:
            break
        part = parts[index]
        if part.get("type") != "document":
            continue
        full = estimate_tokens(part["text"])
        before = part_tokens(part)
        note = cut_note(part["name"], full, full)
        target = full - over - estimate_tokens(note) - 2  # the note's line and its line break
        kept = cut_to_tokens(part["text"], target)
        sent = estimate_tokens(kept)
        parts[index] = {**part, "text": kept, "cut_note": cut_note(part["name"], sent, full)}
        over -= before - part_tokens(parts[index])
        cuts[index] = {"code": "document_cut", "name": part["name"], "sent_tokens": sent, "tokens": full}
    notices.extend(cuts[index] for index in sorted(cuts))
    return {"role": message["role"], "content": parts}


def _render(message: Message) -> Message:
    """``message`` with each ``document`` part as a ``text`` part (``document_block``)."""
    if isinstance(message["content"], str):
        return message
    parts = []
    for part in message["content"]:
        if part.get("type") == "document":
            parts.append({"type": "text", "text": document_block(part["name"], part["text"], part.get("cut_note", ""))})
        else:
            parts.append(part)
    return {"role": message["role"], "content": parts}


def flatten(message: Message) -> Message:
    """What goes upstream: a plain string content when no image part is left (the text
    parts joined by a blank line), else OpenAI's list of ``text`` and ``image_url``
    parts, consecutive text parts joined into one."""
    content = message["content"]
    if isinstance(content, str):
        return message
    if not any(part.get("type") == "image_url" for part in content):
        return {"role": message["role"], "content": "\n\n".join(p["text"] for p in content if p.get("text"))}
    out: list[dict] = []
    for part in content:
        if part.get("type") == "image_url":
            out.append({"type": "image_url", "image_url": dict(part["image_url"])})
        elif not part.get("text"):
            continue
        elif out and out[-1]["type"] == "text":
            out[-1] = {"type": "text", "text": out[-1]["text"] + "\n\n" + part["text"]}
        else:
            out.append({"type": "text", "text": part["text"]})
    return {"role": message["role"], "content": out}


def _has_images(message: Message) -> bool:
    """True when ``message`` has an ``image_url`` part."""
    return not isinstance(message["content"], str) and any(p.get("type") == "image_url" for p in message["content"])


@dataclass(frozen=True)
class UpstreamRequest:
    """What one ``POST /api/chat/stream`` sends upstream.

    ``messages``: the Chat Completions ``messages`` (system prompt resolved, trimmed to
    the context window, the continue instruction last when continuing); ``model``: the
    model asked for, else the default; ``params``: the sampling parameters that are set
    (SDK keyword arguments); ``trim``: how trimming went (``dropped`` = history messages
    left out, ``prompt_tokens`` = the estimate, ``budget``); ``context_window``: tokens;
    ``notices``: what the page is told (the ``meta`` event): ``{"code": "document_cut",
    "name", "sent_tokens", "tokens"}`` per document cut to fit the window, ``{"code":
    "images_left_out", "count"}`` when older turns' images were left out for a model
    that does not accept images.
    """

    messages: list[Message]
    model: str
    params: dict
    trim: TrimResult
    context_window: int
    notices: list[dict] = field(default_factory=list)


def prepare_upstream(chat_request, settings, *, model: str | None = None, context_window: int | None = None,
                     model_id: str | None = None, locale: str | None = None) -> UpstreamRequest:
    """The one preparation of a chat request for the upstream (the stream endpoint and
    the tests both call this): the operator's ``SYSTEM_PROMPT`` and the user's system
    prompt (``chatcore.messages.prepare_messages``); images checked against the model
    (``chatcore.vision``); the newest message's documents cut when it does not fit the
    window (``document_cut`` notices); every document as its text block; trimming to the
    model's context window with the reply's reserve (``max_tokens`` when set, else
    ``CONTEXT_RESERVE_TOKENS``); each message flattened (``flatten``); then — for
    ``continue_reply`` — the continue instruction after the partial reply (never
    trimmed away).

    Args:
        chat_request: a validated ``chatcore.messages.ChatRequest``.
        settings: a ``config.Settings`` (``system_prompt``, ``system_prompt_editable``,
            ``openai_model``, ``context_window(model)``, ``context_reserve_tokens``, the
            vision settings).
        model, context_window: the model name sent upstream and its window (tokens)
            when a connection route decided them (``chatcore.connections``); else the
            request's model (or the default) and ``settings.context_window``.
        model_id: the model id the page chose (``Route.model_id``), which the vision
            rule is asked about; else the request's model or the default.
        locale: of the error text.

    Raises:
        ChatError: 400 ``model_no_images`` when the newest message has an image and the
            model does not accept images (images of older turns are left out then, with
            an ``images_left_out`` notice).
    """
    from .errors import ChatError
    from .messages import CONTINUE_INSTRUCTION, prepare_messages
    from .vision import accepts_images

    model = model or chat_request.model or settings.openai_model
    context_window = context_window or settings.context_window(model)
    # the operator's SYSTEM_PROMPT first, the user's after it (SYSTEM_PROMPT_EDITABLE: replaced)
    resolved = prepare_messages(
        settings.system_prompt, chat_request.system_prompt, chat_request.messages,
        editable=settings.system_prompt_editable,
    )
    notices: list[dict] = []
    newest = max((i for i, m in enumerate(resolved) if m["role"] != "system"), default=None)
    chosen = model_id or chat_request.model or settings.openai_model
    if any(map(_has_images, resolved)) and not accepts_images(chosen, settings):
        if newest is not None and _has_images(resolved[newest]):
            raise ChatError.make(400, "model_no_images", locale, model=chosen[:200])
        left_out = 0
        for index, message in enumerate(resolved):
            if _has_images(message):
                left_out += sum(1 for p in message["content"] if p.get("type") == "image_url")
                resolved[index] = {"role": message["role"], "content": [
                    {"type": "text", "text": IMAGE_LEFT_OUT} if p.get("type") == "image_url" else p
                    for p in message["content"]]}
        notices.append({"code": "images_left_out", "count": left_out})
    reserve = chat_request.max_tokens or settings.context_reserve_tokens
    if newest is not None and not isinstance(resolved[newest]["content"], str):
        # the newest message is always sent: cut its documents when it does not fit
        fixed = sum(message_tokens(m) for m in resolved if m["role"] == "system") + message_tokens(resolved[newest])
        over = fixed - prompt_budget(context_window, reserve)
        if over > 0:
            resolved[newest] = _cut_documents(resolved[newest], over, notices)
    trim = trim_messages([_render(m) for m in resolved], context_window=context_window, reserve_tokens=reserve)
    messages = [flatten(m) for m in trim.messages]
    if chat_request.continue_reply:
        messages = messages + [{"role": "user", "content": CONTINUE_INSTRUCTION}]
    return UpstreamRequest(messages, model, chat_request.sampling_params(), trim, context_window, notices)
