"""``python -m huiliu`` runs the ``huiliu`` command (``huiliu run`` starts its children this way)."""

from huiliu.cli import app

if __name__ == "__main__":
    app(prog_name="huiliu")
