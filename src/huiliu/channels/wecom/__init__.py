"""WeCom (企业微信) channels: the self-built app (自建应用) callback with external-contact changes, and
微信客服 (wecom_kf) — the kf_msg_or_event callback, sync_msg with a stored cursor, send_msg replies."""
