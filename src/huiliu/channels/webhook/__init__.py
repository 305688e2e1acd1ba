"""Generic signed webhook intake (short-video platforms, IoT, ERP, mini-program backends) with
declarative JMESPath mappings and shipped presets."""
