"""End-to-end tests of the labs: solutions pass, releases fail, mutants and typical mistakes
are caught."""
