"""The export function (HTTP): POST /v1/exports, and local download links in `make run`."""
