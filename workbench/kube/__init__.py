"""The Kubernetes backend: `wb compile`, `wb push` and the in-cluster driver.

`manifests` is pure (dicts in, dicts out); `client` is the only module that imports the
`kubernetes` package, and only when a command talks to a cluster.
"""
