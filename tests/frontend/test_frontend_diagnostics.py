"""Rendering diagnostics: FILE:LINE:COL: error: MESSAGE, the line, a caret."""

from igoc.frontend import DiagnosticError, error_at, location_of

SOURCE = "first line\n\tsecond\tline\nthird\n"


def test_headline_with_and_without_location():
    assert DiagnosticError("bad", ("a.mlir", 2, 5)).headline() == "a.mlir:2:5: error: bad"
    assert DiagnosticError("bad").headline() == "error: bad"
    assert str(DiagnosticError("bad", ("a.mlir", 1, 1))) == "a.mlir:1:1: error: bad"


def test_render_shows_the_line_and_a_caret_under_the_column():
    rendered = DiagnosticError("no", ("a.mlir", 3, 3)).render(SOURCE)
    assert rendered == "a.mlir:3:3: error: no\nthird\n  ^"


def test_tabs_before_the_column_stay_tabs_so_the_caret_lines_up():
    rendered = DiagnosticError("no", ("a.mlir", 2, 9)).render(SOURCE)
    assert rendered.splitlines()[1:] == ["\tsecond\tline", "\t      \t^"]


def test_no_source_line_when_it_is_missing_or_empty():
    assert DiagnosticError("no", ("a.mlir", 9, 1)).render(SOURCE) == "a.mlir:9:1: error: no"
    assert DiagnosticError("no", ("a.mlir", 1, 1)).render("") == "a.mlir:1:1: error: no"
    assert DiagnosticError("no", ("a.mlir", 1, 1)).render(None) == "a.mlir:1:1: error: no"
    assert DiagnosticError("no").render(SOURCE) == "error: no"


def test_control_characters_are_shown_as_question_marks():
    rendered = DiagnosticError("no", ("a.mlir", 1, 2)).render("a\x01b\x1bc\n")
    assert rendered.splitlines()[1] == "a?b?c"


def test_error_at_an_op_without_a_location():
    class Bare:
        location = None

    error = error_at(Bare(), "needs more SPM")
    assert error.location is None and location_of(Bare()) is None
    assert error.render(SOURCE) == "error: needs more SPM"
