"""Commands on a workspace's store: gc, doctor, aliases, lineage, search and reproduce."""
