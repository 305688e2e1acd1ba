"""Entry points: the concrete doors customers come through (a QR code, a form, a webhook, an API client)."""
