"""Sub-commands of the ``fser`` command line, one module each."""
