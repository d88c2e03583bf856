"""Grading a whole class: a roster in, every student's report, class files and gradebook files out.

- :mod:`grader.batch.model`: a roster row and what became of each student (shared by the rest).
- :mod:`grader.batch.roster`: reading and checking the roster CSV.
- :mod:`grader.batch.exports`: class.csv, junit.xml and Gradescope's results.json.
- :mod:`grader.batch.class_report`: class.html, the instructor's page.
- :mod:`grader.batch.canvas`: filling an instructor's Canvas gradebook export.
- :mod:`grader.batch.runner`: preflight, then grading the ready students concurrently.
"""
