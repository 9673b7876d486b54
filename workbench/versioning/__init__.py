"""Code and data versions: the project loader, code versions, source fingerprints, git and libraries."""
