"""The records function (HTTP). Its routes arrive with their own issue."""
