"""The auth function: accounts, sessions, health, JWKS and the OpenAPI document."""
