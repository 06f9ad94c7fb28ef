"""Component ids, defined once and imported everywhere (kebab-case, prefixed by area).

The ``chat-*`` ids of the input, buttons and message list are stable hooks for
browser tests; do not rename them.
"""

# stores
HISTORY_STORE = "chat-history-store"  # the history in memory; IndexedDB records through assets/storage.js
CONFIG_STORE = "chat-config-store"  # public server config for the browser (no secrets)
DOWNLOAD = "chat-download"

# header
HEADER_MODEL = "header-model-tag"
CLEAR_BUTTON = "chat-clear-button"
CLEAR_CONFIRM = "chat-clear-confirm"
EXPORT_BUTTON = "chat-export-button"
LOGOUT_BUTTON = "chat-logout-button"  # submits a native POST /logout form (only with ACCESS_CODES)
BUDGET = "chat-budget"  # "Used 12,340 of 100,000 tokens today" (callbacks/budget.py; hidden without a budget)

# messages
SCROLL = "chat-scroll"
MESSAGES = "chat-messages"
EMPTY_STATE = "chat-empty-state"
STREAM_MESSAGE = "chat-stream-message"
STREAM_MARKDOWN = "chat-stream-markdown"
STREAM_REASONING = "chat-stream-reasoning"  # the live reasoning block (a <details>) of the streaming reply
STREAM_REASONING_SUMMARY = "chat-stream-reasoning-summary"
STREAM_REASONING_MARKDOWN = "chat-stream-reasoning-markdown"
ERROR_BOX = "chat-error"
ERROR_TEXT = "chat-error-text"
RETRY_BUTTON = "chat-retry-button"
KEY_ALERT = "chat-no-key-alert"

# composer
INPUT = "chat-input"
SEND_BUTTON = "chat-send-button"
STOP_BUTTON = "chat-stop-button"
INPUT_HINT = "chat-input-hint"

# global feedback slot (filled by set_props)
GLOBAL_MESSAGE = "global-message"

# stores (browser only)
PREFS_STORE = "chat-prefs-store"  # global defaults, own API key, theme (localStorage)
ACTIVE_STORE = "chat-active-store"  # id of the open conversation (localStorage; switching does not rewrite the history)
VIEW_STORE = "chat-view-store"  # how many messages of the active conversation are drawn
EXPORT_REQUEST = "chat-export-request"  # the active conversation, prepared for Markdown export
THEME_PROVIDER = "chat-theme-provider"

# sidebar
SIDEBAR = "chat-sidebar"
SIDEBAR_TOGGLE = "chat-sidebar-toggle"
SIDEBAR_MASK = "chat-sidebar-mask"
NEW_BUTTON = "chat-new-button"
SEARCH_INPUT = "chat-search-input"
CONVERSATION_LIST = "chat-conversation-list"
BACKUP_EXPORT_BUTTON = "chat-backup-export-button"
BACKUP_UPLOAD = "chat-backup-upload"
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
SET_MODEL = "chat-setting-model"
SET_SYSTEM_PROMPT = "chat-setting-system-prompt"
SET_TEMPERATURE = "chat-setting-temperature"
SET_TOP_P = "chat-setting-top-p"
SET_PRESENCE = "chat-setting-presence-penalty"
SET_FREQUENCY = "chat-setting-frequency-penalty"
SET_MAX_TOKENS = "chat-setting-max-tokens"
SET_HISTORY = "chat-setting-history"
SET_REASONING_EFFORT = "chat-setting-reasoning-effort"
SET_API_KEY = "chat-setting-api-key"
SET_BASE_URL = "chat-setting-base-url"
SET_BASE_URL_ITEM = "chat-setting-base-url-item"
SET_API_KEY_ITEM = "chat-setting-api-key-item"

# numeric settings: (id, settings field, min, max, integer?) — ranges from the OpenAI API reference
NUMERIC_SETTINGS = (
    (SET_TEMPERATURE, "temperature", 0, 2, False),
    (SET_TOP_P, "top_p", 0, 1, False),
    (SET_PRESENCE, "presence_penalty", -2, 2, False),
    (SET_FREQUENCY, "frequency_penalty", -2, 2, False),
    (SET_MAX_TOKENS, "max_tokens", 1, 1000000, True),
    (SET_HISTORY, "history", 0, 10000, True),
)
STORAGE_ALERT = "chat-storage-alert"  # storage unavailable / full / newer format
STORAGE_INFO = "chat-storage-info"  # used and available space, in the settings drawer
