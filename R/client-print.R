# Print methods of the client's results -----------------------------------------
#
# Each result class has a format() method that returns the lines to show and a
# print() method that writes them once. The lines show the pooled value, the
# counts under dsBase's names (Nvalid, Nmissing, Ntotal) and the sites that
# contributed (the attribute `sites`, set by mhe_run()), never the raw list.

mhe_print_lines <- function(x, ...) {
  writeLines(format(x, ...))
  invisible(x)
}

# "Sites (3): a, b, c", or nothing for a result without its sites; then,
# with differential privacy on, the DP facts per site (mhe_format_dp(): the
# mechanism, epsilon, noise sd and budget left), nothing with DP off.
mhe_format_sites <- function(x) {
  sites <- attr(x, "sites")
  dp <- if (is.data.frame(x)) attr(x, "dp") else x[["dp"]]
  c(
    if (!is.null(sites)) paste0("Sites (", length(sites), "): ", paste(sites, collapse = ", ")),
    mhe_format_dp(dp)
  )
}

# Two lines: the names of `cells` over their values, right-aligned in columns.
mhe_format_cells <- function(cells) {
  width <- pmax(nchar(names(cells)), nchar(cells))
  pad <- function(text) paste0(strrep(" ", width - nchar(text)), text)
  c(
    paste(pad(names(cells)), collapse = "  "),
    paste(pad(unname(cells)), collapse = "  ")
  )
}

mhe_format_counts <- function(x) {
  c(Nvalid = format(x$Nvalid), Nmissing = format(x$Nmissing), Ntotal = format(x$Ntotal))
}

mhe_format_number <- function(x, digits) {
  format(x, digits = digits)
}

#' Print pooled results
#'
#' Results of [ds.mheMean()], [ds.mheVar()], [ds.mheCor()] and
#' [ds.mheTable()] print their pooled values, the counts under dsBase's names
#' (`Nvalid`, `Nmissing`, `Ntotal`) and the sites that contributed. `format()`
#' returns the same lines as a character vector.
#'
#' @param x A result of class `mhe_mean`, `mhe_var`, `mhe_cor` or `mhe_table`.
#' @param digits Significant digits of the pooled values.
#' @param ... Unused.
#' @returns `format()`: a character vector, one element per line. `print()`:
#'   `x`, invisibly.
#' @name mhe-print
#' @keywords internal
#' @examples
#' x <- structure(
#'   list(mean = 5.87, n = 7500L, n_missing = 351L, Nvalid = 7500L,
#'        Nmissing = 351L, Ntotal = 7851L, variable = "D$LAB_TSC"),
#'   class = "mhe_mean", sites = c("sim1", "sim2", "sim3")
#' )
#' x
NULL

#' @rdname mhe-print
#' @export
format.mhe_mean <- function(x, digits = getOption("digits"), ...) {
  c(
    paste0("Pooled mean of ", x$variable, " (dsMHE, encrypted)"),
    mhe_format_cells(c(mean = mhe_format_number(x$mean, digits), mhe_format_counts(x))),
    mhe_format_sites(x)
  )
}

#' @rdname mhe-print
#' @export
print.mhe_mean <- function(x, ...) mhe_print_lines(x, ...)

#' @rdname mhe-print
#' @export
format.mhe_var <- function(x, digits = getOption("digits"), ...) {
  c(
    paste0("Pooled variance of ", x$variable, " (dsMHE, encrypted)"),
    mhe_format_cells(c(
      var = mhe_format_number(x$var, digits), mean = mhe_format_number(x$mean, digits),
      mhe_format_counts(x)
    )),
    mhe_format_sites(x)
  )
}

#' @rdname mhe-print
#' @export
print.mhe_var <- function(x, ...) mhe_print_lines(x, ...)

#' @rdname mhe-print
#' @export
format.mhe_cor <- function(x, digits = getOption("digits"), ...) {
  c(
    "Pooled correlation matrix (dsMHE, encrypted)",
    utils::capture.output(print(x$cor, digits = digits)),
    "Counts (complete cases are valid):",
    mhe_format_cells(mhe_format_counts(x)),
    mhe_format_sites(x)
  )
}

#' @rdname mhe-print
#' @export
print.mhe_cor <- function(x, ...) mhe_print_lines(x, ...)

#' @rdname mhe-print
#' @export
format.mhe_table <- function(x, digits = getOption("digits"), ...) {
  vars <- names(dimnames(x$table))
  title <- if (length(vars)) paste(vars, collapse = " by ") else "a variable"
  counts <- if (!is.null(x$Nvalid)) {
    mhe_format_cells(mhe_format_counts(x))
  } else {
    paste0("n = ", format(x$n))
  }
  chisq <- if (inherits(x$chisq, "htest")) {
    lines <- utils::capture.output(print(x$chisq, digits = digits))
    sub("^\t", "", lines[nzchar(trimws(lines))])
  }
  c(
    paste0("Pooled table of ", title, " (dsMHE, encrypted)"),
    utils::capture.output(print(x$table)),
    counts,
    chisq,
    mhe_format_sites(x)
  )
}

#' @rdname mhe-print
#' @export
print.mhe_table <- function(x, ...) mhe_print_lines(x, ...)
