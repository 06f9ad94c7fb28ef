"""User-facing texts of the chat core in zh-CN and en-US.

Texts are looked up by a stable ``code`` (also sent to the browser, so the page can
react to it) and formatted with ``str.format`` keyword arguments.
"""

from __future__ import annotations

SUPPORTED_LOCALES = ("en-US", "zh-CN")
DEFAULT_LOCALE = "en-US"

TEXTS: dict[str, dict[str, str]] = {
    "no_api_key": {
        "en-US": "No API key is configured. Set OPENAI_API_KEY in the environment or .env and restart, or enter your own key in Settings.",
        "zh-CN": "未配置 API Key。请在环境变量或 .env 中设置 OPENAI_API_KEY 后重启，或在设置中填写你自己的 Key。",
    },
    "auth": {
        "en-US": "The API key was rejected by the model provider (401). Check OPENAI_API_KEY.",
        "zh-CN": "模型服务拒绝了 API Key（401）。请检查 OPENAI_API_KEY。",
    },
    "permission": {
        "en-US": "The API key is not allowed to use this model or endpoint (403).",
        "zh-CN": "该 API Key 无权使用此模型或接口（403）。",
    },
    "not_found": {
        "en-US": "The model or endpoint was not found (404). Check the model name and OPENAI_BASE_URL.",
        "zh-CN": "未找到该模型或接口（404）。请检查模型名称和 OPENAI_BASE_URL。",
    },
    "rate_limited": {
        "en-US": "The model provider is rate limiting requests (429). Try again{after}.",
        "zh-CN": "模型服务限流（429），请稍后重试{after}。",
    },
    "bad_request": {
        "en-US": "The model provider rejected the request ({status}): {detail}",
        "zh-CN": "模型服务拒绝了请求（{status}）：{detail}",
    },
    "upstream_error": {
        "en-US": "The model provider had an error ({status}). Try again.",
        "zh-CN": "模型服务出错（{status}），请重试。",
    },
    "timeout": {
        "en-US": "The model provider did not answer in time. Try again.",
        "zh-CN": "模型服务响应超时，请重试。",
    },
    "connection": {
        "en-US": "Could not connect to the model provider. Check OPENAI_BASE_URL and the network or proxy.",
        "zh-CN": "无法连接模型服务。请检查 OPENAI_BASE_URL、网络或代理。",
    },
    "stream_interrupted": {
        "en-US": "The reply was interrupted before it finished. The partial reply is kept; try again.",
        "zh-CN": "回复在完成前中断。已保留部分回复，请重试。",
    },
    "invalid_request": {
        "en-US": "Invalid request: {detail}",
        "zh-CN": "请求无效：{detail}",
    },
    "payload_too_large": {
        "en-US": "The request is too large (limit {limit} bytes).",
        "zh-CN": "请求过大（上限 {limit} 字节）。",
    },
    # --- user base URLs (chatcore.netguard) and the model list ---
    "base_url_blocked": {
        "en-US": "This base URL is not allowed: {host} is a loopback, private or otherwise internal address. "
        "The operator can allow the host with USER_BASE_URL_ALLOWLIST.",
        "zh-CN": "不允许使用此 Base URL：{host} 是回环、内网或其他内部地址。服务器管理员可在 USER_BASE_URL_ALLOWLIST 中放行该主机。",
    },
    "base_url_unresolved": {
        "en-US": "The host of this base URL ({host}) could not be resolved. Check the base URL.",
        "zh-CN": "无法解析此 Base URL 的主机名（{host}），请检查 Base URL。",
    },
    "models_rate_limited": {
        "en-US": "The model list was requested too often. Try again in {seconds} s.",
        "zh-CN": "获取模型列表过于频繁，请 {seconds} 秒后重试。",
    },
    # --- access control and limits (chatserver.access, chatserver.limits) ---
    "login_required": {
        "en-US": "Your session has expired or you are not signed in. Sign in again.",
        "zh-CN": "会话已过期或尚未登录，请重新登录。",
    },
    "forbidden_origin": {
        "en-US": "Cross-site requests are not allowed.",
        "zh-CN": "不允许跨站请求。",
    },
    "too_many_requests": {
        "en-US": "You are sending messages too quickly. Your message is kept; try again in {seconds} s.",
        "zh-CN": "发送过于频繁。你的消息已保留，请 {seconds} 秒后重试。",
    },
    "too_many_streams": {
        "en-US": "Too many replies are being generated at once (limit {limit}). Wait for one to finish, then try again.",
        "zh-CN": "同时生成的回复过多（上限 {limit} 个）。请等待其中一个完成后重试。",
    },
    # --- usage budgets per access-code label (chatcore.budgets) ---
    "budget_exceeded": {
        "en-US": "The {period} usage budget of your access code is used up ({used} of {limit}). "
        "It resets at {reset} ({zone}). Your message is kept.",
        "zh-CN": "你的访问码的{period}用量额度已用完（已用 {used}，额度 {limit}）。额度将于 {reset}（{zone}）重置。你的消息已保留。",
    },
    "limits_unavailable": {
        "en-US": "The server cannot reach its limits storage, so usage limits cannot be checked and requests are "
        "refused for now. Your message is kept; try again later.",
        "zh-CN": "服务器无法连接其限额存储，暂时无法核对用量限额，请求已被拒绝。你的消息已保留，请稍后重试。",
    },
    # --- slow request bodies (chatserver.slow_clients) ---
    "request_timeout": {
        "en-US": "The request did not arrive in time ({seconds} s without data). Check the connection and try again.",
        "zh-CN": "请求未能及时送达（{seconds} 秒内没有收到数据）。请检查网络连接后重试。",
    },
    "too_many_uploads": {
        "en-US": "Too many requests are being uploaded from your address at once. Try again in {seconds} s.",
        "zh-CN": "你的地址同时上传的请求过多，请 {seconds} 秒后重试。",
    },
    # --- CHAT_BACKEND (chatcore.backend) ---
    "backend_error": {
        "en-US": "The chat backend failed ({detail}). The partial reply is kept; try again.",
        "zh-CN": "聊天后端出错（{detail}）。已保留部分回复，请重试。",
    },
    "backend_bad_value": {
        "en-US": "The chat backend sent something that is neither text nor a known event ({detail}). "
        "The reply ends here; the partial reply is kept.",
        "zh-CN": "聊天后端返回了既不是文本也不是已知事件的内容（{detail}）。回复到此结束，已保留部分回复。",
    },
    "internal": {
        "en-US": "Something went wrong on the server. Try again.",
        "zh-CN": "服务器出错，请重试。",
    },
    # --- local mode: the proxy every OpenAI request goes through is not reachable ---
    "proxy_connection": {
        "en-US": "Could not reach the model provider through the local proxy LOCAL_PROXY={proxy}. Is the proxy "
        "running? (In local mode every OpenAI request goes through it.)",
        "zh-CN": "无法通过本地代理 LOCAL_PROXY={proxy} 连接模型服务。代理是否在运行？（local 模式下所有 OpenAI 请求都经由它。）",
    },
    # --- automatic retries before the reply starts (chatcore.client.RetryPolicy) ---
    "retrying": {
        "en-US": "Retrying in {seconds} s… (retry {attempt} of {max_retries})",
        "zh-CN": "{seconds} 秒后重试…（第 {attempt}/{max_retries} 次）",
    },
    # --- import of a Markdown export (chatcore.export.import_markdown) ---
    "md_import_not_export": {
        "en-US": "This file is not a Markdown export of this chat app, or it was changed so that it cannot be "
        "read back. Nothing was imported.",
        "zh-CN": "此文件不是本聊天应用导出的 Markdown，或已被修改而无法读取。未导入任何内容。",
    },
    "md_import_too_new": {
        "en-US": "This export uses format {version}, which is newer than this app knows (up to {supported}). "
        "Update the app to import it. Nothing was imported.",
        "zh-CN": "此导出文件使用格式 {version}，比本应用支持的格式（最高 {supported}）更新。请更新应用后再导入。未导入任何内容。",
    },
    "md_import_unknown_role": {
        "en-US": "This export has a message with an unknown role ({role}); only system, user and assistant are "
        "known. Nothing was imported.",
        "zh-CN": "此导出文件中有一条角色未知的消息（{role}），只支持 system、user 和 assistant。未导入任何内容。",
    },
    "md_import_too_large": {
        "en-US": "The file is too large to import (limit {limit} bytes). Nothing was imported.",
        "zh-CN": "文件过大，无法导入（上限 {limit} 字节）。未导入任何内容。",
    },
    "md_import_not_text": {
        "en-US": "The file is not UTF-8 text. Nothing was imported.",
        "zh-CN": "文件不是 UTF-8 文本。未导入任何内容。",
    },
    # --- an attachment block of a Markdown export (chatcore.export, format 3) ---
    "md_import_bad_attachment": {
        "en-US": "An image or document in this export cannot be read back (line {line}): it may have been "
        "changed by hand. Nothing was imported.",
        "zh-CN": "此导出文件中的图片或文档无法读取（第 {line} 行），可能被手动修改过。未导入任何内容。",
    },
    # --- images and documents attached to a message (issue 13: chatcore.context, chatcore.attachments) ---
    "model_no_images": {
        "en-US": "The model {model} does not accept images. Remove the image or choose a model that accepts "
        "images (the operator can name such models in VISION_MODELS). Your message is kept.",
        "zh-CN": "模型 {model} 不支持图片。请移除图片，或选择支持图片的模型（服务器管理员可在 VISION_MODELS 中指定）。你的消息已保留。",
    },
    "image_too_large": {
        "en-US": "An attached image is too large ({size} bytes; the limit is {limit} bytes). Your message is kept.",
        "zh-CN": "附加的图片过大（{size} 字节，上限 {limit} 字节）。你的消息已保留。",
    },
    "attachment_too_large": {
        "en-US": "The file is too large (limit {limit} bytes).",
        "zh-CN": "文件过大（上限 {limit} 字节）。",
    },
    "attachment_unsupported": {
        "en-US": "This file type is not supported. Attach a text file (.txt, .md, .csv, .json, source code), a PDF or a Word .docx file.",
        "zh-CN": "不支持此文件类型。请附加文本文件（.txt、.md、.csv、.json、源代码）、PDF 或 Word .docx 文件。",
    },
    "attachment_not_text": {
        "en-US": "The file is not text (it is binary or not in UTF-8). Attach a text file, a PDF or a .docx file.",
        "zh-CN": "该文件不是文本（是二进制文件或不是 UTF-8 编码）。请附加文本文件、PDF 或 .docx 文件。",
    },
    "attachment_no_text": {
        "en-US": "No text was found in this file (a scanned PDF holds only images). Copy the text into the message instead.",
        "zh-CN": "此文件中没有可提取的文字（扫描版 PDF 只包含图片）。请把文字复制到消息中。",
    },
    "attachment_encrypted": {
        "en-US": "This PDF is protected by a password. Save a copy without the password and attach that.",
        "zh-CN": "此 PDF 受密码保护。请另存一份不带密码的副本后再附加。",
    },
    "attachment_corrupt": {
        "en-US": "The file is damaged or not what its name says; no text could be read from it.",
        "zh-CN": "文件已损坏或与其扩展名不符，无法读取其中的文字。",
    },
    "attachment_bomb": {
        "en-US": "The file expands to far more data than it holds (a compression bomb, or too complex), so it was not read.",
        "zh-CN": "该文件解压后的数据量远超其本身大小（压缩炸弹或过于复杂），因此未读取。",
    },
    "attachment_timeout": {
        "en-US": "Reading the file took too long (over {seconds} s) and was stopped.",
        "zh-CN": "读取文件耗时过长（超过 {seconds} 秒），已停止。",
    },
    "attachment_busy": {
        "en-US": "The server is reading too many files at once. Try again in a moment.",
        "zh-CN": "服务器正在同时读取过多文件，请稍后重试。",
    },
}

AFTER_SECONDS = {"en-US": " in {seconds} s", "zh-CN": "（约 {seconds} 秒后）"}
# the {period} of ``budget_exceeded``
BUDGET_PERIODS = {"en-US": {"day": "daily", "month": "monthly"}, "zh-CN": {"day": "每日", "month": "每月"}}


LOCALE_COOKIE = "chat_locale"  # set by the page's language button (assets/js/settings.mjs)


def resolve_locale(cookie: str | None = None, accept_language: str | None = None, chosen: str | None = None) -> str:
    """The one locale rule of the app — the login page, the chat page and every server
    error use it: a locale the request itself names (``chosen``: the stream request's
    ``locale``), else the ``chat_locale`` cookie the language button sets, else the
    first Chinese or English tag of ``Accept-Language`` in preference order (RFC 9110
    §12.5.4: by q-value, then position), else en-US. Returns ``"en-US"`` or ``"zh-CN"``."""
    for value in (chosen, cookie):
        if value in SUPPORTED_LOCALES:
            return value
    if chosen:
        return normalize_locale(chosen)
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en-US"
    return DEFAULT_LOCALE


def normalize_locale(value: str | None) -> str:
    """Map ``"zh"``, ``"zh-cn"``, ``"zh-Hans-CN"`` … to a supported locale; default en-US."""
    if value and value.lower().startswith("zh"):
        return "zh-CN"
    return DEFAULT_LOCALE


def text(code: str, locale: str | None = None, **params: object) -> str:
    """The text for ``code`` in ``locale``, formatted with ``params``.

    Unknown codes fall back to ``internal``; missing params render as empty strings.
    """
    loc = normalize_locale(locale)
    table = TEXTS.get(code, TEXTS["internal"])
    template = table.get(loc) or table[DEFAULT_LOCALE]

    class _Blank(dict):
        def __missing__(self, key: str) -> str:
            return ""

    return template.format_map(_Blank(params))
