# (filled in by its suite)
