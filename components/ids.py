"""Component ids, defined once and imported everywhere (kebab-case, prefixed by area).

The ``chat-*`` ids of the input, buttons and message list are stable hooks for
browser tests; do not rename them.
"""

from chatcore.settings_spec import BY_KEY, NUMBERS

# stores
HISTORY_STORE = "chat-history-store"  # the history in memory; IndexedDB records through assets/storage.js
CONFIG_STORE = "chat-config-store"  # public server config for the browser (no secrets)
DOWNLOAD = "chat-download"

# header
HEADER_MODEL = "header-model-tag"
MODEL_SELECT = "chat-model-select"  # the wrapper of the header's model switch (per conversation)
MODEL_PICKER = "chat-model-picker"  # the searchable select inside it
CLEAR_BUTTON = "chat-clear-button"
CLEAR_CONFIRM = "chat-clear-confirm"
EXPORT_BUTTON = "chat-export-button"
EXPORT_SELECTED_BUTTON = "chat-export-selected-button"  # the ticked messages (.chat-message-select) as Markdown
LOGOUT_BUTTON = "chat-logout-button"  # submits a native POST /logout form (only with ACCESS_CODES)
BUDGET = "chat-budget"  # "Used 12,340 of 100,000 tokens today" (callbacks/budget.py; hidden without a budget)
BUDGET_TICK = "chat-budget-tick"  # bumped by the page after each reply when budgets apply (redraws BUDGET)

# messages
SCROLL = "chat-scroll"
MESSAGES = "chat-messages"
MESSAGES_CHUNK = "chat-messages-shell"  # prefix of the shells inside #chat-messages (assets/js/render.mjs): -earlier, -0, -1, …
EMPTY_STATE = "chat-empty-state"
STREAM_MESSAGE = "chat-stream-message"
STREAM_MARKDOWN = "chat-stream-markdown"  # holds the two parts below
STREAM_MARKDOWN_DONE = "chat-stream-markdown-done"  # the streaming reply's finished blocks
STREAM_MARKDOWN_TAIL = "chat-stream-markdown-tail"  # and its growing tail
STREAM_STATUS = "chat-stream-status"  # "Retrying in N s…" while the server retries before the reply starts
STREAM_REASONING = "chat-stream-reasoning"  # the live reasoning block (a <details>) of the streaming reply
STREAM_REASONING_SUMMARY = "chat-stream-reasoning-summary"
STREAM_REASONING_MARKDOWN = "chat-stream-reasoning-markdown"
ERROR_BOX = "chat-error"
ERROR_TEXT = "chat-error-text"
RETRY_BUTTON = "chat-retry-button"
KEY_ALERT = "chat-no-key-alert"
FIRST_RUN = "chat-first-run"  # inside KEY_ALERT: the exact .env lines, and a field for the user's own key
FIRST_RUN_KEY = "chat-first-run-key"
FIRST_RUN_SAVE = "chat-first-run-save"

# composer
INPUT = "chat-input"
SEND_BUTTON = "chat-send-button"
STOP_BUTTON = "chat-stop-button"
INPUT_HINT = "chat-input-hint"
# attachments (issue 13, assets/js/attach.mjs): the button opens the file input inside ATTACH;
# the pending images and documents are drawn into ATTACH_LIST (plain DOM, text as text)
ATTACH_BUTTON = "chat-attach-button"
ATTACH = "chat-attach"
ATTACH_INPUT = "chat-attach-input"
ATTACH_LIST = "chat-attach-list"
IMAGE_PREVIEW = "chat-image-preview"  # the full-size view of a clicked image (an overlay made by attach.mjs)

# global feedback slot (filled by set_props)
GLOBAL_MESSAGE = "global-message"

# stores (browser only)
PREFS_STORE = "chat-prefs-store"  # global defaults, own API key, theme (localStorage)
ACTIVE_STORE = "chat-active-store"  # id of the open conversation (localStorage; switching does not rewrite the history)
VIEW_STORE = "chat-view-store"  # how many messages of the active conversation are drawn
EXPORT_REQUEST = "chat-export-request"  # output slot of the Export callbacks (the file is written in the browser)
THEME_PROVIDER = "chat-theme-provider"

# sidebar
SIDEBAR = "chat-sidebar"
SIDEBAR_TOGGLE = "chat-sidebar-toggle"
SIDEBAR_MASK = "chat-sidebar-mask"
NEW_BUTTON = "chat-new-button"
SEARCH_INPUT = "chat-search-input"
CONVERSATION_LIST = "chat-conversation-list"
BACKUP_EXPORT_BUTTON = "chat-backup-export-button"
BACKUP_UPLOAD = "chat-backup-upload"  # a JSON backup or a Markdown export (.md)
EXPORT_ALL_BUTTON = "chat-export-all-button"  # every conversation as a .zip of .md files and the backup
RENAME_MODAL = "chat-rename-modal"
RENAME_INPUT = "chat-rename-input"
DELETE_MODAL = "chat-delete-modal"

# header
SETTINGS_BUTTON = "chat-settings-button"
THEME_BUTTON = "chat-theme-button"
LANGUAGE_BUTTON = "chat-language-button"

# message actions
EDIT_MODAL = "chat-edit-modal"
EDIT_INPUT = "chat-edit-input"

# settings drawer
SETTINGS_DRAWER = "chat-settings-drawer"
SETTINGS_SCOPE = "chat-settings-scope"
SETTINGS_SAVE = "chat-settings-save"
SETTINGS_ERROR = "chat-settings-error"
# one field per setting (chatcore/settings_spec.py): chat-setting-<key with ->
SET_MODEL = BY_KEY["model"].component_id  # "chat-setting-model"
SET_SYSTEM_PROMPT = BY_KEY["system_prompt"].component_id
SET_TEMPERATURE = BY_KEY["temperature"].component_id
SET_TOP_P = BY_KEY["top_p"].component_id
SET_PRESENCE = BY_KEY["presence_penalty"].component_id
SET_FREQUENCY = BY_KEY["frequency_penalty"].component_id
SET_MAX_TOKENS = BY_KEY["max_tokens"].component_id
SET_HISTORY = BY_KEY["history"].component_id
SET_REASONING_EFFORT = BY_KEY["reasoning_effort"].component_id
SET_API_KEY = "chat-setting-api-key"
SET_BASE_URL = "chat-setting-base-url"
SET_BASE_URL_ITEM = "chat-setting-base-url-item"
SET_API_KEY_ITEM = "chat-setting-api-key-item"

# numeric settings: (id, settings field, min, max, integer?) from the settings spec
NUMERIC_SETTINGS = tuple(
    (spec.component_id, spec.key, spec.minimum, spec.maximum, spec.integer) for spec in NUMBERS
)
STORAGE_ALERT = "chat-storage-alert"  # storage unavailable / full / newer format
STORAGE_INFO = "chat-storage-info"  # used and available space, in the settings drawer

# keyboard shortcuts and sharing (components/shortcuts.py, assets/js/shortcuts.mjs, share.mjs)
SHORTCUTS_BUTTON = "chat-shortcuts-button"  # header: opens the shortcuts dialog
SHORTCUTS_MODAL = "chat-shortcuts-modal"
SHORTCUTS_LIST = "chat-shortcuts-list"  # the dialog's list, drawn from the config's key map
SHARE_IMAGE_BUTTON = "chat-share-image-button"  # header: the conversation as PNG image(s)
COPY_MARKDOWN_BUTTON = "chat-copy-markdown-button"  # header: the conversation's Markdown export to the clipboard
HEADER_MORE = "chat-header-more"  # phones: the "more" menu holding the export and share actions
HEADER_MORE_BUTTON = "chat-header-more-button"

# prompt presets (issue 14; components/presets.py, assets/js/presets.mjs, presetdialog.mjs, presetpicker.mjs)
PRESETS_BUTTON = "chat-presets-button"  # sidebar: opens the presets dialog
PRESETS_MODAL = "chat-presets-modal"
PRESETS_SEARCH = "chat-presets-search"  # filters the dialog's list by name and prompt
PRESETS_LIST = "chat-presets-list"  # the built-ins and the user's own, drawn as .chat-preset-item
PRESET_EDITOR = "chat-preset-editor"  # the create / edit form (drawn by presetdialog.mjs)
PRESET_NEW = "chat-preset-new"
PRESET_IMPORT = "chat-preset-import"  # holds the input[type=file] of Import (made by presetdialog.mjs)
PRESET_IMPORT_INPUT = "chat-preset-import-input"
PRESET_EXPORT = "chat-preset-export"
PRESET_PICKER = "chat-preset-picker"  # the "/" picker above the composer (made by presetpicker.mjs)


def page_ids() -> dict[str, str]:
    """Every id above by its Python name (``{"HISTORY_STORE": "chat-history-store", …}``):
    the page script reads ids from its config (``config.ids``), never as literals."""
    return {name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)}
