"""tk's version: its own module, so that modules inside tk never import the toolkit package itself."""

__version__ = "0.1.0"
