"""Reports of verified specs: terminal lines, Markdown and JSON (HTML and JUnit build on these)."""
