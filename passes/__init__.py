"""The passes of igoc, one file per pass, named after its command-line name."""
