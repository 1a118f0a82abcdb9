"""The portal: Central's server-rendered web UI, mounted beside the public API.

Pages read through the same code paths as the API (the same search, scope and permission
checks), under the identity of a server-side session that a login form opens.
"""
