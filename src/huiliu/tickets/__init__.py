"""The ticket aggregate and its one write path."""
