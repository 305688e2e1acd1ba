"""Channel adapters: one sub-package per platform. Each turns platform input into an
``intake.domain.InboundMessage`` and hands it to ``intake.service.ingest``."""
