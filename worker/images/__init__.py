"""Images on this host: pulls, pushes, purges and kernel commits (docs/images.md)."""
