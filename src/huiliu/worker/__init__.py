"""The background worker: Huey task queue, outbox dispatcher and sweeper, webhook delivery.
``huiliu.worker.runner.run_worker`` runs it; ``python -m huiliu.worker`` and ``huiliu worker`` call that."""
