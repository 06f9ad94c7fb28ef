"""The prompt presets dialog (issue 14), opened with the sidebar's ``chat-presets-button``.

Only the frame is drawn here: the search box, New, Import (``chat-preset-import`` — the
``input[type=file]`` inside it is made by ``assets/js/presetdialog.mjs``, like the
composer's attach input) and Export, and two holders the page script fills as plain DOM
(text set as text): the list (``chat-presets-list``: the built-ins from the page config,
``chatcore/presets.py``, and the user's own from localStorage, each a ``.chat-preset-item``)
and the create / edit form (``chat-preset-editor``). No Dash callback: the presets never
travel to the server. The ``/`` picker above the composer is ``assets/js/presetpicker.mjs``.
"""

from __future__ import annotations

import feffery_antd_components as fac
from dash import html

from . import ids
from .texts import t


def render(locale: str = "en-US"):
    """The presets dialog (rendered up front, forceRender, so its holders exist before the
    first opening)."""
    return fac.AntdModal(
        id=ids.PRESETS_MODAL,
        title=t("presets_title", locale),
        renderFooter=False,
        visible=False,
        forceRender=True,
        width=760,
        className="chat-presets-modal",
        children=html.Div(
            className="chat-presets",
            children=[
                # search, new, import, export
                html.Div(
                    className="chat-presets-toolbar",
                    children=[
                        fac.AntdInput(
                            id=ids.PRESETS_SEARCH,
                            placeholder=t("presets_search", locale),
                            prefix=fac.AntdIcon(icon="antd-search"),
                            className="chat-presets-search",
                            value="",
                        ),
                        fac.AntdButton(t("preset_new", locale), id=ids.PRESET_NEW, icon=fac.AntdIcon(icon="antd-plus"), type="primary"),
                        html.Div(
                            id=ids.PRESET_IMPORT,
                            className="chat-preset-import",
                            children=fac.AntdButton(t("preset_import", locale), icon=fac.AntdIcon(icon="antd-cloud-upload")),
                        ),
                        fac.AntdButton(t("preset_export", locale), id=ids.PRESET_EXPORT, icon=fac.AntdIcon(icon="antd-cloud-download")),
                    ],
                ),
                html.P(t("presets_tip", locale), className="chat-settings-hint chat-presets-tip"),
                # the list and the form (filled by assets/js/presetdialog.mjs)
                html.Div(id=ids.PRESETS_LIST, className="chat-presets-list"),
                html.Div(id=ids.PRESET_EDITOR, className="chat-preset-editor"),
            ],
        ),
    )
