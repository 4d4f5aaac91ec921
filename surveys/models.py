"""Surveys, frozen versions, invitations and responses (built on the catalogue)."""
