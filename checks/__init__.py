"""The lab's checks: one module per part of the lab; check id = `<module>.<function>` without `test_`."""
