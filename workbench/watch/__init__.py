"""`wb watch`: the file watcher, its rules, debouncing and log."""
