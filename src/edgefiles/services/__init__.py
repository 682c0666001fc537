"""One module per binding concern. JS conversion quirks live here and nowhere else."""
