//! Unit tests for the translator's traps, with expected results checked
//! against Python 3.11 by hand (the oracle tests recheck them live).
