"""Settings and secret files: the lowest layer, read by every other package (nothing else reads os.environ)."""
