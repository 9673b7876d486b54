"""The pure core: definitions, the graph, partitions, staleness, selection and plans. No I/O."""
