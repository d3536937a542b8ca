"""The session store (SQLite) and its plot."""
