"""Authentication and authorization for Central: identities, roles, scopes, tokens."""
