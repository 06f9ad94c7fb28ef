/**
 * classes.mjs — every CSS class name the page script sets or looks for (assets/chat.css
 * styles them). Owns nothing else; ids come from the page config (config.mjs), never
 * from literals here.
 */
export const CLS = Object.freeze({
  dark: 'chat-dark',                       // on <html> in the dark theme
  message: 'chat-message',
  messageRole: (role) => 'chat-message-' + role,
  messageIncomplete: 'chat-message-incomplete',
  messageBody: 'chat-message-body',
  messageRoleLine: 'chat-message-role',
  messageText: 'chat-message-text',
  messageFlag: 'chat-message-flag',
  messageLength: 'chat-message-length',
  messageTrimmed: 'chat-message-trimmed',
  messageUsage: 'chat-message-usage',
  messageCost: 'chat-message-cost',
  messageReasoningTokens: 'chat-message-reasoning-tokens',
  messageTtft: 'chat-message-ttft',
  messageModel: 'chat-message-model',
  messageToolbar: 'chat-message-toolbar',
  branchPager: 'chat-branch',              // ‹ 2 / 3 › on a message with versions (branches.mjs)
  branchPrev: 'chat-branch-prev',
  branchNext: 'chat-branch-next',
  branchLabel: 'chat-branch-label',
  messageSelect: 'chat-message-select',    // the <input type=checkbox> of Export selected
  messageSelectBox: 'chat-message-select-box', // the <label> around it
  avatar: (role) => 'chat-avatar chat-avatar-' + role,
  reasoning: 'chat-reasoning',             // a stored reply's <details> with its thinking
  streamActive: 'chat-message chat-message-assistant chat-stream-active',
  streamIdle: 'chat-stream-idle',
  streamTail: 'chat-stream-tail',          // the element the streaming cursor follows (stream.mjs)
  streamBlocks: 'chat-stream-blocks',      // the streamed reply's finished blocks (streamview.mjs)
  streamTailPart: 'chat-stream-tailpart',  // and its growing tail
  streamCut: 'chat-stream-cut',            // a block that ends inside a code block the next part continues
  markdownPlain: 'chat-md-plain',          // Markdown drawn as plain text until fmc's bundle has loaded
  showEarlier: 'chat-show-earlier',
  messagesChunk: 'chat-messages-chunk',     // a shell of #chat-messages holding some messages (render.mjs)
  action: (name) => 'chat-action chat-action-' + name,
  convHolder: 'chat-conv-dom',             // the plain-DOM list inside #chat-conversation-list
  convItem: 'chat-conv-item',
  convItemActive: 'chat-conv-item-active',
  convTitle: 'chat-conv-title',
  convActions: 'chat-conv-actions',
  convEmpty: 'chat-conv-empty',
  convGroup: 'chat-conv-group',           // a date group's (or Pinned's) header in the list
  convPinned: 'chat-conv-item-pinned',
  sidebarOpen: 'chat-sidebar-open',
  sidebarMaskOpen: 'chat-sidebar-mask-open',
  mermaidIdPrefix: 'chat-mermaid-',
  // attachments (attach.mjs in the composer, render.mjs in a sent message)
  composer: 'chat-composer',
  composerDrop: 'chat-composer-drop',       // files are dragged over the composer
  attachInput: 'chat-attach-file',
  attachHolder: 'chat-attach-dom',          // the plain-DOM list inside #chat-attach-list
  attachListFull: 'chat-attach-list-full',
  attachment: 'chat-attachment',            // a thumbnail or chip (composer and sent message)
  attachmentKind: (kind) => 'chat-attachment-' + (kind === 'image' ? 'image' : 'document'),
  attachmentHasError: 'chat-attachment-failed',
  attachmentThumb: 'chat-attachment-thumb', // an image's <img>: a click shows it full size
  attachmentIcon: 'chat-attachment-icon',
  attachmentMeta: 'chat-attachment-meta',
  attachmentName: 'chat-attachment-name',
  attachmentInfo: 'chat-attachment-info',
  attachmentError: 'chat-attachment-error', // the error on a chip (localized, as text)
  attachmentRemove: 'chat-attachment-remove',
  messageAttachments: 'chat-message-attachments',
  imagePreview: 'chat-image-overlay',
  imagePreviewClose: 'chat-image-overlay-close'
});
// Message and list actions are plain <button>s with a glyph (the label comes from
// data-label via CSS): one element each, so drawing many messages stays cheap.
export const GLYPHS = Object.freeze({ copy: '\u2750', edit: '\u270e', regenerate: '\u21bb', 'continue': '\u25b8', rename: '\u270e', 'delete': '\u2715', pin: '\u2606', unpin: '\u2605' });

// The class names of the feature modules, one group each (styled in assets/chat.css).
// share.mjs: Share as image; what a capture hides or opens
export const SHARE_CLS = Object.freeze({
  moreOpen: 'chat-header-more-open',
  message: CLS.message,
  toolbar: CLS.messageToolbar, // a message's buttons: kept in the layout, not drawn
  codeCopy: 'copy-to-clipboard-button', // fmc's copy button on code blocks: not drawn either
  showEarlier: CLS.showEarlier,
  messagesChunk: CLS.messagesChunk // the shells the messages sit in (render.mjs)
});
// shortcuts.mjs: the shortcuts dialog and what the keys act on
export const SHORTCUT_CLS = Object.freeze({
  sidebarCollapsed: 'chat-sidebar-collapsed', // on <html>: the desktop sidebar folded away
  row: 'chat-shortcut-row',
  label: 'chat-shortcut-label',
  keys: 'chat-shortcut-keys',
  regenerate: 'chat-action-regenerate'
});
// presetpicker.mjs: the "/" picker above the composer
export const PRESET_PICKER_CLS = Object.freeze({
  picker: 'chat-preset-popup', item: 'chat-preset-picker-item', active: 'chat-preset-picker-item-active',
  emoji: 'chat-preset-emoji', name: 'chat-preset-name', prompt: 'chat-preset-prompt', hint: 'chat-preset-picker-hint',
  empty: 'chat-presets-empty'
});
// presetdialog.mjs: the presets dialog
export const PRESET_DIALOG_CLS = Object.freeze({
  item: 'chat-preset-item', own: 'chat-preset-item-own', emoji: 'chat-preset-emoji', body: 'chat-preset-body',
  name: 'chat-preset-name', prompt: 'chat-preset-prompt', params: 'chat-preset-params', actions: 'chat-preset-actions',
  section: 'chat-presets-section', empty: 'chat-presets-empty', button: 'chat-preset-button', primary: 'chat-preset-button-primary',
  danger: 'chat-preset-button-danger', form: 'chat-preset-form', field: 'chat-preset-field', error: 'chat-preset-error',
  hint: 'chat-preset-hint', grid: 'chat-preset-grid', footer: 'chat-preset-footer', fileInput: 'chat-preset-file-input',
  frame: 'chat-presets', editing: 'chat-presets-editing'
});
