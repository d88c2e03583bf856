"""Unit tests of every registered check on hand-built evidence: no sandbox, no browser, milliseconds."""
