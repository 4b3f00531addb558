"""The in-container kernel runner (stdlib only; runs with the image's own python3 >= 3.9)."""
