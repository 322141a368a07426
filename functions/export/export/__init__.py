"""The export function (HTTP). Its routes arrive with their own issue."""
