"""The local fake WeChat / WeCom API for these tests (tests/channels/tencent/fake_api.py)."""

from tests.channels.tencent.fake_api import fake_api, sync_engine

__all__ = ["fake_api", "sync_engine"]
