"""Pointing: the line of the student's own code that holds a diagnosed mistake."""
