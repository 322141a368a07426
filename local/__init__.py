"""Local mode: every function in one process (`make run`). Not deployed."""
