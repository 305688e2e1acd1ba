"""What the WeChat Official Account (公众号) and WeCom (企业微信) channels share: the callback crypto
(WXBizMsgCrypt), XXE-safe XML parsing, the platform API client with its access-token cache shared
by all processes, and the delivery of agent replies through the outbox."""
