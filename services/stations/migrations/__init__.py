"""A package, so that the migrations ship with an installed unionhub (the container image)."""
