"""The header's usage-budget text (``chat-budget``), filled on the server.

A server-side callback: it runs at page load and, when budgets apply
(``config.budgets``), after each reply, when the page bumps ``chat-budget-tick``
(assets/js/stream.mjs) — not on every commit, which would cost every page a server
round trip per change. It
reads the signed-in session's access-code label (``chatserver.access.session_label``)
and that label's budget (``chatcore.budgets``); without a budget the element stays
hidden.
"""

from __future__ import annotations

from datetime import datetime

from dash import Input, Output, callback
from flask import current_app

from chatserver.access import session_label
from chatcore.budgets import EXTENSION, BudgetBook
from components import ids
from components.layout import request_locale
from components.texts import t


def budget_text(book: BudgetBook, label: str, locale: str) -> tuple[str, str] | None:
    """``(text, title)`` for ``label`` in ``locale``, e.g. ``("Used 12,340 of 100,000
    tokens today · Used 3.20 of 20.00 USD this month", "Resets at …")``; ``None`` when
    no budget (or only an empty one) applies.

    Raises:
        the storage's ``base_exceptions`` when it is unreachable.
    """
    lines = book.lines(label)
    if not lines:
        return None
    parts = []
    for line in lines:
        used, limit = book.amount(line.unit, line.used, unit=False), book.amount(line.unit, line.limit, unit=False)
        template = t(f"budget_{line.unit}_{line.period.kind}", locale)
        parts.append(template.format(used=used, limit=limit, currency=book.currency))
    day, month = (datetime.fromtimestamp(p.resets_at, book.zone).strftime("%Y-%m-%d %H:%M") for p in book.periods())
    title = t("budget_resets", locale).format(day=day, month=month, zone=book.zone.key)
    return " · ".join(parts), title


@callback(
    Output(ids.BUDGET, "children"),
    Output(ids.BUDGET, "hidden"),
    Output(ids.BUDGET, "title"),
    Input(ids.BUDGET_TICK, "data"),
)
def show_budget(_modified: int | None):
    """``(text, hidden, title)`` of the header's budget element for this request's
    session (hidden, empty text, when no budget applies or there is no session)."""
    book: BudgetBook | None = current_app.extensions.get(EXTENSION)
    label = session_label()
    shown = budget_text(book, label, request_locale()) if book is not None and label is not None else None
    if shown is None:
        return "", True, ""
    return shown[0], False, shown[1]
