"""Customers and their identities (openid, unionid, phone, e-mail, …)."""
