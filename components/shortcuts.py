"""The keyboard shortcuts: one key map, defined here once, sent to the page in its config
(``public_config["shortcuts"]``: ``page()``), acted on by ``assets/js/shortcuts.mjs`` and
listed in the shortcuts dialog (``render``), opened with ``?``, Ctrl+/ (⌘/ on macOS) or the
header's ``chat-shortcuts-button``.

Each entry: the action's id, its label (a key of ``components/texts.py``), the key
combinations elsewhere ("Ctrl+…") and on macOS ("Meta+…" = ⌘), whether it also fires while
typing in a text field (only Esc: none of the others may steal a typed character or a
text-editing key), and who handles it (``composer``: Enter and Shift+Enter are the
composer's own keys, ``assets/js/actions.mjs``; they are listed so the dialog is complete).

Why these keys (checked against what Chrome, Firefox and Safari keep for themselves):
a page never sees Ctrl+N, Ctrl+T, Ctrl+W, Ctrl+Shift+N/T/W, Ctrl+Tab, Ctrl+PgUp/PgDn or ⌘Q
(the browsers reserve them), so no action uses them; every combination below is one the
browsers hand to the page first, and ``preventDefault`` keeps the browser's own meaning
from running — where a browser gives it one, that is said next to the entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import feffery_antd_components as fac
from dash import html

from . import ids
from .texts import t

MODIFIERS = ("Ctrl", "Meta", "Alt", "Shift")
# how a modifier is drawn in the dialog: elsewhere, and on macOS (its menu symbols)
MODIFIER_LABELS = {"Ctrl": ("Ctrl", "⌃"), "Meta": ("Meta", "⌘"), "Alt": ("Alt", "⌥"), "Shift": ("Shift", "⇧")}
# named keys: KeyboardEvent.key, KeyboardEvent.code, drawn as
NAMED_KEYS = {"Esc": ("escape", "Escape", "Esc"), "Enter": ("enter", "Enter", "Enter")}
# punctuation: KeyboardEvent.code on a US layout (matched when the layout types another
# character there, e.g. Shift+; gives ":"); None: match the character only, with or
# without Shift (on a US layout "?" is Shift+/, on a French one Shift+,)
PUNCTUATION = {"/": "Slash", ";": "Semicolon", "?": None}


@dataclass(frozen=True)
class Shortcut:
    """One action of the key map. ``keys`` / ``mac``: combinations such as
    ``"Ctrl+Shift+O"`` (modifiers from ``MODIFIERS``, then one key: a letter, a digit,
    ``Esc``, ``Enter`` or one of ``PUNCTUATION``)."""

    action: str
    label: str
    keys: tuple[str, ...]
    mac: tuple[str, ...]
    in_text: bool = False
    handler: str = "shortcuts"


SHORTCUTS: tuple[Shortcut, ...] = (
    # ChatGPT's key for New chat. Chrome: bookmark manager; Firefox: Library; Safari: none.
    Shortcut("new_chat", "shortcut_new_chat", ("Ctrl+Shift+O",), ("Meta+Shift+O",)),
    # ChatGPT's. Chrome on Windows/Linux: Task Manager (the page's preventDefault wins).
    Shortcut("focus_input", "shortcut_focus_input", ("Shift+Esc",), ("Shift+Esc",)),
    # the one shortcut that fires inside text fields: Stop while a reply streams
    Shortcut("stop", "shortcut_stop", ("Esc",), ("Esc",), in_text=True),
    # not Ctrl+Shift+R (hard reload everywhere); Ctrl+Shift+E: Firefox's Network panel
    # (DevTools), nothing in Chrome or Safari
    Shortcut("regenerate", "shortcut_regenerate", ("Ctrl+Shift+E",), ("Meta+Shift+E",)),
    # ChatGPT's. Not Ctrl+Shift+C: the DevTools inspector in Chrome, Firefox and Safari (⌘⇧C)
    Shortcut("copy_last", "shortcut_copy_last", ("Ctrl+Shift+;",), ("Meta+Shift+;",)),
    # the usual search key (Slack, GitHub, ChatGPT). Chrome/Firefox: search in the address bar
    Shortcut("search", "shortcut_search", ("Ctrl+K",), ("Meta+K",)),
    # ChatGPT's. Firefox: take a screenshot; Safari: none that a page cannot override
    Shortcut("toggle_sidebar", "shortcut_toggle_sidebar", ("Ctrl+Shift+S",), ("Meta+Shift+S",)),
    # this list: "?" outside text fields (GitHub, Gmail), Ctrl+/ like ChatGPT; no browser use
    Shortcut("help", "shortcut_help", ("?", "Ctrl+/"), ("?", "Meta+/")),
    # the composer's own keys (assets/js/actions.mjs), listed here for the dialog
    Shortcut("send", "shortcut_send", ("Enter",), ("Enter",), in_text=True, handler="composer"),
    Shortcut("newline", "shortcut_newline", ("Shift+Enter",), ("Shift+Enter",), in_text=True, handler="composer"),
    # "/" at the start of the message opens the presets picker (assets/js/presetpicker.mjs)
    Shortcut("presets", "shortcut_presets", ("/",), ("/",), in_text=True, handler="composer"),
)


# Share as image (assets/js/share.mjs, kept here beside the header's other page actions):
# the image's pixel ratio, and the largest canvas one image may use. Chromium allows far
# more (measured with Chromium 156: a 16,384 × 16,384 canvas = 268,435,456 px draws, one
# pixel more stays blank, and a side of 65,535 px is fine); iOS Safari refuses a canvas
# over 16,777,216 px (4096²), so that is the limit: at the column's 788 px × 2 an image is
# at most ~5,300 CSS px tall, and a taller conversation becomes several numbered images,
# each cut between messages where it can be (assets/js/share.mjs planSlices).
SHARE_LIMITS = {"scale": 2, "max_area": 16_777_216, "max_side": 16_384}


def parse_combo(combo: str, mac: bool) -> dict:
    """``"Ctrl+Shift+O"`` → what ``assets/js/shortcuts.mjs`` matches a keydown against and
    what the dialog draws: ``{"key": "o", "code": "KeyO", "ctrl": True, "meta": False,
    "alt": False, "shift": True, "labels": ["Ctrl", "Shift", "O"]}`` (``shift`` is None for
    a character that needs Shift on some layouts only, like ``?``; ``code`` is None when
    only the character counts). Raises ValueError for an unknown modifier or key."""
    *mods, key = combo.split("+")
    unknown = [m for m in mods if m not in MODIFIERS]
    if unknown or not key:
        raise ValueError(f"bad key combination {combo!r}")
    if key in NAMED_KEYS:
        event_key, code, label = NAMED_KEYS[key]
    elif len(key) == 1 and key.isascii() and key.isalpha():
        event_key, code, label = key.lower(), "Key" + key.upper(), key.upper()
    elif len(key) == 1 and key.isdigit():
        event_key, code, label = key, "Digit" + key, key
    elif key in PUNCTUATION:
        event_key, code, label = key, PUNCTUATION[key], key
    else:
        raise ValueError(f"bad key in {combo!r}")
    labels = [MODIFIER_LABELS[m][1 if mac else 0] for m in MODIFIERS if m in mods] + [label]
    shift = None if key in PUNCTUATION and PUNCTUATION[key] is None else "Shift" in mods
    return {
        "key": event_key, "code": code, "ctrl": "Ctrl" in mods, "meta": "Meta" in mods,
        "alt": "Alt" in mods, "shift": shift, "labels": labels,
    }


def page() -> list[dict]:
    """The key map for the page config: ``[{"action", "label", "in_text", "handler",
    "combos": {"default": [combo…], "mac": [combo…]}}]`` (combos: ``parse_combo``)."""
    return [
        {
            "action": s.action,
            "label": s.label,
            "in_text": s.in_text,
            "handler": s.handler,
            "combos": {"default": [parse_combo(c, False) for c in s.keys], "mac": [parse_combo(c, True) for c in s.mac]},
        }
        for s in SHORTCUTS
    ]


def render(locale: str = "en-US"):
    """The shortcuts dialog: its list (``chat-shortcuts-list``) is drawn by
    assets/js/shortcuts.mjs from the config's key map, for this browser's platform (⌘ on
    macOS, Ctrl elsewhere) and in the page's locale; rendered up front (forceRender) so
    the list's holder exists before the first opening."""
    return fac.AntdModal(
        id=ids.SHORTCUTS_MODAL,
        title=t("shortcuts", locale),
        renderFooter=False,
        visible=False,
        forceRender=True,
        width=520,
        children=[
            html.Div(id=ids.SHORTCUTS_LIST, className="chat-shortcuts-list"),
            html.P(t("shortcuts_hint", locale), className="chat-settings-hint chat-shortcuts-hint"),
        ],
    )
