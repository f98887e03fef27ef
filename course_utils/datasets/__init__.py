"""Data loaders, one module per data set. Each loader takes the run mode into account and
prints which data it used, so a quick run never passes for a full one."""
