"""A package, so that the revisions ship with an installed unionhub (the container image)."""
