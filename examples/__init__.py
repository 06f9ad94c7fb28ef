"""Example chat backends for ``CHAT_BACKEND`` (see README, "Bring your own backend")."""
