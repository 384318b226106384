"""The composition root: settings, default data, wiring, the `yhteys` CLI."""
