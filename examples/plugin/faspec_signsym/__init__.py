"""faspec-signsym: an example faspec plug-in (docs/plugins.md). Imports nothing."""
