"""Views: each takes a finished Result (or error) and only lays it out."""
