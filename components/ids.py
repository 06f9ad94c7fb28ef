"""Component ids, defined once and imported everywhere (kebab-case, prefixed by area).

The ``chat-*`` ids of the input, buttons and message list are stable hooks for
browser tests; do not rename them.
"""

# stores
HISTORY_STORE = "chat-history-store"  # conversations, in IndexedDB (fuc.FefferyLocalLargeStorage)
CONFIG_STORE = "chat-config-store"  # public server config for the browser (no secrets)
DOWNLOAD = "chat-download"

# header
HEADER_MODEL = "header-model-tag"
CLEAR_BUTTON = "chat-clear-button"
CLEAR_CONFIRM = "chat-clear-confirm"
EXPORT_BUTTON = "chat-export-button"

# messages
SCROLL = "chat-scroll"
MESSAGES = "chat-messages"
EMPTY_STATE = "chat-empty-state"
STREAM_MESSAGE = "chat-stream-message"
STREAM_MARKDOWN = "chat-stream-markdown"
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
