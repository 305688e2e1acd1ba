"""``python -m huiliu.worker``: run the worker with the settings from the environment."""

from huiliu.settings import get_settings
from huiliu.worker.runner import run_worker

if __name__ == "__main__":
    run_worker(get_settings())
