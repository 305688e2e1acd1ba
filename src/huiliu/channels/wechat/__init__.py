"""WeChat Official Account (公众号) channel: the callback (URL verification, plaintext, compatible and
safe mode), messages and events into intake, agent replies out through the customer-service API."""
