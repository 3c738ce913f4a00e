"""The config: its schema (pydantic), its error messages, and init-config's guessing of one from data."""
