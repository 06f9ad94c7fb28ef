"""Usage budgets per access-code label, counted in the limits storage (no Flask import).

Every ``ACCESS_CODES`` entry carries a label (``design:code1``; unlabelled codes have
the label ``default``, see ``config.split_access_code``) and a signed-in session
remembers it (``chatserver.access``). ``BUDGETS`` gives each label its own allowance —
tokens and/or cost, per day and per month — and ``default`` covers labels it does not
list (each such label still counts on its own: there is no shared pool).

Periods are calendar days and months in ``BUDGET_TIMEZONE``: a day starts at local
midnight, a month at local midnight of its first day. Counters live in the limits
storage (``RATELIMIT_STORAGE_URI``: the same ``limits`` storage flask-limiter uses),
one integer per label, period and unit::

    chat/budget/<label>/day/2026-12-01/tokens     prompt + completion tokens
    chat/budget/<label>/day/2026-12-01/cost       micro-units of BUDGET_CURRENCY (1e-6)
    chat/budget/<label>/month/2026-12/tokens
    chat/budget/<label>/month/2026-12/cost

They grow with the storage's atomic ``incr`` (one Redis command per counter), so with
Redis every worker and instance sees the same totals; each key expires an hour after
its period ends. With ``memory://`` each process counts alone.

A request is checked before it starts (``BudgetBook.check``): when any counter of its
label is at or above its limit, it is refused (429, ``budget_exceeded``, with the reset
time and ``Retry-After``). It is charged when its response closes
(``BudgetBook.charge_reply``, from the stream generator's ``finally``, which runs on
Stop and on disconnect too): the usage the upstream reported, else the app's estimate
(``chatcore.context``: the prompt as sent plus the partial reply), so Stop never gets a
reply for free. Requests already running when the budget runs out still finish, so the
total may pass the limit by what they use; the next request is refused.

Cost is ``prompt_tokens × prompt price + completion_tokens × completion price`` with
``MODEL_PRICES`` (exact model name, as the page shows it), counted only for models
priced in ``BUDGET_CURRENCY``; other models (another currency, or no price) count
toward token budgets only.

If the storage cannot be reached, ``check`` refuses (503 ``limits_unavailable``: fail
closed) and logs one line saying why; a charge that cannot be written is logged.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from .context import estimate_tokens
from .errors import ChatError
from .i18n import BUDGET_PERIODS, normalize_locale
from .logsafe import escape

log = logging.getLogger("chatcore.budgets")

EXTENSION = "chat_budgets"  # key of the BudgetBook in ``app.extensions``
KEY = "chat/budget/{label}/{period}/{stamp}/{unit}"
MICRO = 1_000_000  # cost counters hold millionths of BUDGET_CURRENCY
KEY_GRACE = 3600  # seconds a counter outlives its period (clock skew between instances)
PERIODS = ("day", "month")
UNITS = ("tokens", "cost")


@dataclass(frozen=True)
class Period:
    """One budget period: ``kind`` ``"day"`` or ``"month"``, ``stamp`` its local date
    (``"2026-12-01"`` / ``"2026-12"``), ``resets_at`` the Unix time it ends (the next
    local midnight / the first midnight of the next month)."""

    kind: str
    stamp: str
    resets_at: float


@dataclass(frozen=True)
class Usage:
    """What one label used in one period: ``tokens`` and ``cost_micro`` (millionths of
    ``BUDGET_CURRENCY``)."""

    tokens: int = 0
    cost_micro: int = 0

    @property
    def cost(self) -> float:
        """The cost in ``BUDGET_CURRENCY``."""
        return self.cost_micro / MICRO


@dataclass(frozen=True)
class Line:
    """One limit that applies to a label, with its use: ``unit`` ``"tokens"`` or
    ``"cost"``; ``used`` and ``limit`` in tokens or cost micro-units."""

    period: Period
    unit: str
    used: int
    limit: int

    @property
    def exhausted(self) -> bool:
        """True when the use has reached the limit (the next request is refused)."""
        return self.used >= self.limit


def _midnight(day: date, zone: ZoneInfo) -> float:
    """Unix time of local midnight starting ``day`` in ``zone`` (in a DST gap: the
    instant the clocks jump over it)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def current_periods(now: float, zone: ZoneInfo) -> tuple[Period, Period]:
    """``(day, month)`` periods containing Unix time ``now`` in ``zone``."""
    today = datetime.fromtimestamp(now, zone).date()
    next_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return (
        Period("day", today.isoformat(), _midnight(today + timedelta(days=1), zone)),
        Period("month", today.strftime("%Y-%m"), _midnight(next_month, zone)),
    )


def _count(value: object) -> int | None:
    """``value`` when it is a whole number >= 0 (not a bool), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def reply_tokens(usage: dict | None, prompt_estimate: int, reply_text: str) -> tuple[int, int, bool]:
    """``(prompt_tokens, completion_tokens, estimated)`` to charge for one reply.

    ``usage`` is the data of the upstream's ``usage`` event (``prompt_tokens``,
    ``completion_tokens``), or ``None`` when none arrived (Stop, a cut stream, a
    provider that reports none); then, or when its numbers are not whole numbers >= 0,
    the estimate is ``prompt_estimate`` (tokens of the messages as sent,
    ``chatcore.context.message_tokens``) and ``estimate_tokens(reply_text)`` (the
    reply as far as it came).
    """
    if usage is not None:
        prompt, completion = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
        if prompt is not None and completion is not None:
            return prompt, completion, False
    return max(0, prompt_estimate), estimate_tokens(reply_text), True


def cost_micro(price, prompt_tokens: int, completion_tokens: int, currency: str) -> int | None:
    """The cost of a reply in micro-units of ``currency`` (rounded up), or ``None`` when
    ``price`` (a ``config.ModelPrice``: per 1M tokens) is missing or in another currency.

    Prices are per 1,000,000 tokens and micro-units are 1/1,000,000, so the cost in
    micro-units is simply ``tokens × price``.
    """
    if price is None or price.currency != currency:
        return None
    return math.ceil(prompt_tokens * price.prompt + completion_tokens * price.completion - 1e-9)


class BudgetBook:
    """Budgets of one app: checks before a request, charges after it, reports use.

    Args:
        storage: a ``limits`` storage (``incr(key, expiry, amount)``, ``get(key)``,
            ``base_exceptions``), shared with the rate limits.
        settings: the ``config.Settings`` (``budget_for``, ``access_code_labels``,
            ``budget_timezone``, ``budget_currency``, ``model_prices``).
        clock: returns the current Unix time; tests replace it (``book.clock = ...``).
    """

    def __init__(self, storage, settings, clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.settings = settings
        self.zone = ZoneInfo(settings.budget_timezone)
        self.currency = settings.budget_currency
        self.clock = clock

    # --- reading ---------------------------------------------------------------------

    def labels(self) -> list[str]:
        """Every label of ``ACCESS_CODES``, sorted (empty without access codes)."""
        return sorted(set(self.settings.access_code_labels.values()))

    def periods(self) -> tuple[Period, Period]:
        """The current ``(day, month)`` in ``BUDGET_TIMEZONE``."""
        return current_periods(self.clock(), self.zone)

    @staticmethod
    def key(label: str, period: Period, unit: str) -> str:
        """The storage key of one counter, e.g. ``chat/budget/design/day/2026-12-01/tokens``."""
        return KEY.format(label=label, period=period.kind, stamp=period.stamp, unit=unit)

    def usage(self, label: str, periods: tuple[Period, Period] | None = None) -> dict[str, Usage]:
        """``{"day": Usage, "month": Usage}`` of ``label`` now (or in ``periods``).

        Raises:
            the storage's ``base_exceptions`` (e.g. ``redis.RedisError``) when it is unreachable.
        """
        return {
            period.kind: Usage(self.storage.get(self.key(label, period, "tokens")), self.storage.get(self.key(label, period, "cost")))
            for period in periods or self.periods()
        }

    def lines(self, label: str) -> list[Line]:
        """The limits of ``label``'s budget that are set, each with its current use, in
        the order tokens/day, cost/day, tokens/month, cost/month; empty without a budget
        (then nothing is read from the storage).

        Raises:
            the storage's ``base_exceptions`` when it is unreachable.
        """
        budget = self.settings.budget_for(label)
        if budget is None:
            return []
        wanted = []
        periods = self.periods()
        for period in periods:
            tokens = getattr(budget, f"tokens_per_{period.kind}")
            cost = getattr(budget, f"cost_per_{period.kind}")
            if tokens is not None:
                wanted.append((period, "tokens", tokens))
            if cost is not None:
                wanted.append((period, "cost", round(cost * MICRO)))
        if not wanted:
            return []
        used = self.usage(label, periods)
        return [
            Line(period, unit, used[period.kind].tokens if unit == "tokens" else used[period.kind].cost_micro, limit)
            for period, unit, limit in wanted
        ]

    # --- before a request --------------------------------------------------------------

    def check(self, label: str, locale: str | None = None) -> None:
        """Let a request of ``label`` start, or refuse it.

        Raises:
            ChatError: 429 ``budget_exceeded`` (``retry_after`` = seconds until the reset)
                when a limit of the label's budget is used up; the message names the
                period, the use, the limit and the reset time in ``BUDGET_TIMEZONE``.
                When several are used up, the latest reset is reported (the month's on a tie).
            ChatError: 503 ``limits_unavailable`` when the storage cannot be read
                (fail closed; one log line says why).
        """
        try:
            lines = self.lines(label)
        except self.storage.base_exceptions as exc:
            log_storage_failure(exc, "chat request refused (usage budget unknown)")
            raise ChatError.make(503, "limits_unavailable", locale) from None
        exhausted = [line for line in lines if line.exhausted]
        if exhausted:
            # the latest reset; on the last day of a month both end together: name the month
            line = max(exhausted, key=lambda item: (item.period.resets_at, item.period.kind == "month"))
            raise self.exceeded_error(line, locale)

    def exceeded_error(self, line: Line, locale: str | None = None) -> ChatError:
        """The 429 ``budget_exceeded`` ``ChatError`` for the used-up ``line``."""
        loc = normalize_locale(locale)
        reset = datetime.fromtimestamp(line.period.resets_at, self.zone)
        wait = max(1, math.ceil(line.period.resets_at - self.clock()))
        return ChatError.make(
            429, "budget_exceeded", loc, retry_after=wait,
            period=BUDGET_PERIODS[loc][line.period.kind],
            used=self.amount(line.unit, line.used, unit=False), limit=self.amount(line.unit, line.limit),
            reset=reset.strftime("%Y-%m-%d %H:%M"), zone=self.zone.key,
        )

    def amount(self, kind: str, value: int, unit: bool = True) -> str:
        """``"12,340 tokens"`` or ``"3.20 USD"`` (``value`` in tokens or cost micro-units,
        as ``kind`` says); without the unit when ``unit`` is false (``"12,340"``)."""
        number = f"{value:,}" if kind == "tokens" else f"{value / MICRO:,.2f}"
        if not unit:
            return number
        return f"{number} {'tokens' if kind == 'tokens' else self.currency}"

    # --- after a request ---------------------------------------------------------------

    def charge(self, label: str, tokens: int, cost: int | None) -> None:
        """Add ``tokens`` and ``cost`` (micro-units, ``None`` = not priced in
        ``BUDGET_CURRENCY``) to ``label``'s day and month counters.

        Raises:
            the storage's ``base_exceptions`` when it is unreachable.
        """
        now = self.clock()
        for period in current_periods(now, self.zone):
            expiry = max(1, math.ceil(period.resets_at - now)) + KEY_GRACE
            if tokens > 0:
                self.storage.incr(self.key(label, period, "tokens"), expiry, amount=tokens)
            if cost:
                self.storage.incr(self.key(label, period, "cost"), expiry, amount=cost)

    def charge_reply(self, label: str, model: str, usage: dict | None, prompt_estimate: int, reply_text: str) -> tuple[int, int | None, bool]:
        """Charge one reply of ``model`` to ``label`` (``reply_tokens`` decides between
        the reported ``usage`` and the estimate); never raises (a storage failure is
        logged: the charge is lost, later requests are refused while it lasts).

        Returns ``(tokens, cost micro-units or None, estimated)``.
        """
        prompt, completion, estimated = reply_tokens(usage, prompt_estimate, reply_text)
        cost = cost_micro(self.settings.model_prices.get(model), prompt, completion, self.currency)
        try:
            self.charge(label, prompt + completion, cost)
        except self.storage.base_exceptions as exc:
            log_storage_failure(exc, f"usage of label {label} not charged ({prompt + completion} tokens)")
        return prompt + completion, cost, estimated

    # --- for the operator ----------------------------------------------------------------

    def report(self) -> dict:
        """Use per label in the current periods, JSON-ready::

            {"timezone": "Asia/Shanghai", "currency": "USD",
             "day": {"period": "2026-12-01", "resets_at": "2026-12-02T00:00:00+08:00"},
             "month": {"period": "2026-12", "resets_at": "2027-01-01T00:00:00+08:00"},
             "labels": [{"label": "design",
                         "budget": {"tokens_per_day": 100000, "cost_per_month": 20.0} | null,
                         "day": {"tokens": 12340, "cost": 0.0123},
                         "month": {"tokens": 50210, "cost": 0.0502}}]}

        ``cost`` is in ``currency``; ``budget`` lists only the limits that are set
        (``{}`` = explicitly unlimited, ``null`` = no budget applies).

        Raises:
            the storage's ``base_exceptions`` when it is unreachable.
        """
        periods = self.periods()
        labels = []
        for label in self.labels():
            budget = self.settings.budget_for(label)
            used = self.usage(label, periods)
            labels.append(
                {
                    "label": label,
                    "budget": None if budget is None else budget.model_dump(exclude_none=True),
                    **{kind: {"tokens": value.tokens, "cost": value.cost} for kind, value in used.items()},
                }
            )
        return {
            "timezone": self.zone.key,
            "currency": self.currency,
            **{
                period.kind: {"period": period.stamp, "resets_at": datetime.fromtimestamp(period.resets_at, self.zone).isoformat()}
                for period in periods
            },
            "labels": labels,
        }


def log_storage_failure(exc: BaseException, consequence: str) -> None:
    """One error line: the limits storage failed (exception type and its own text, e.g.
    "Error 111 connecting to 127.0.0.1:6379. Connection refused.", with any
    ``user:password@`` of a URL in it replaced by ``***@``), and what that means."""
    detail = re.sub(r"//[^/@\s]*@", "//***@", escape(str(exc)))[:200]
    log.error("limits storage unreachable (%s: %s); %s", type(exc).__name__, detail, consequence)


def install(server, settings, storage) -> BudgetBook:
    """Create the app's ``BudgetBook`` on ``storage`` and keep it in
    ``server.extensions[EXTENSION]`` (``server``: the Flask app; no Flask import here)."""
    book = BudgetBook(storage, settings)
    server.extensions[EXTENSION] = book
    return book
