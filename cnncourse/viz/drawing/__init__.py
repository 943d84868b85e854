"""What every figure of `cnncourse.viz` draws with; no figure of its own.

`colours` (one colour per idea: input, kernel, output, padding, the window to follow), `grids`
(square cells, matrices of numbers, figures outside pyplot sized for the book's column),
`labelled_grids` (rows of labelled matrices for worked examples) and `embed` (figures and
animations shown in notebooks and on the book's pages).
"""
