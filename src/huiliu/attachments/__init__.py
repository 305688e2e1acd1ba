"""Files attached to tickets and messages: upload checks, content-addressed storage, downloads."""
