#' Pooled summaries of many variables over DataSHIELD sites, encrypted
#'
#' For each variable, the pooled mean, sample variance and counts, in two
#' encrypted round trips whatever the number of variables: the first pools,
#' for every variable at once, the sum of the valid values, their number and
#' the number missing; the second pools the sums of squared deviations from
#' the pooled means (which travel to the sites exactly). Each variable is
#' handled with the rules of [ds.mheMean()] and [ds.mheVar()], so the result
#' equals theirs variable by variable and a site releases nothing that the
#' per-variable calls would not: a site with `0 < n valid < nfilter.tab` for
#' a variable counts its values as missing there, and a variable that
#' concentrates on fewer than `nfilter.tab` rows contributes its median.
#'
#' @param x A character vector of 1 to 200 distinct numeric variables, e.g.
#'   `c("D$age", "D$bmi")`, or the name of a data frame (`"D"`) whose columns
#'   (at most 200, all numeric, the same at every site) are summarised.
#' @inheritParams ds.mheMean
#' @returns An object of class `mhe_summary`, a data frame with one row per
#'   variable (row names the variables) and columns `variable`, `mean`, `var`
#'   (sample variance, denominator `n - 1`; `NA` when fewer than 2 values),
#'   `n` (valid values), `n_missing`, and dsBase's `Nvalid` (= `n`),
#'   `Nmissing` (= `n_missing`) and `Ntotal`. A variable with no valid value
#'   has mean `NaN`, as `mean(numeric())`. Attribute `sites` as in
#'   [ds.mheMean()]. It prints the table of pooled values and the sites;
#'   `as.data.frame()` gives the plain data frame.
#' @family client functions
#' @export
#' @examples
#' \dontrun{
#' ds.mheSetup(conns)
#' ds.mheSummary(c("D$LAB_TSC", "D$LAB_TRIG", "D$LAB_HDL"), datasources = conns)
#' }
ds.mheSummary <- function(x, datasources = NULL, type = "combine", epsilon = NULL,
                          bounds = NULL) {
  mhe_check_type(type, instead = "For a correlation matrix use {.fn ds.mheCor}.")
  conns <- mhe_conns(datasources)
  x <- mhe_check_summary_variables(x)
  frame <- length(x) == 1L && !grepl("$", x, fixed = TRUE)
  mhe_run(conns, function(run, call) {
    vars <- if (frame) mhe_summary_columns(run$conns, x, call) else x
    arg <- paste(vars, collapse = ",")
    p <- length(vars)
    dp_args <- mhe_dp_args(bounds, epsilon, vars, call = call)
    first <- mhe_query(run, "mheSummaryDS", c(list(arg, NULL), dp_args), call = call)
    dp <- attr(first, "dp")
    # per variable: the layout "mean" (sum, n, missing), as mheMeanDS
    first <- mhe_summary_values(first, length(mhe_layout("mean")), p, call)
    rownames(first) <- names(mhe_layout("mean"))
    n <- first["n", ]
    mean <- first["sum", ] / n
    var <- rep(NA_real_, p)
    if (any(n >= 2)) {
      centre <- ifelse(n > 0, mean, 0)
      second <- mhe_query(run, "mheSummaryDS", c(list(arg, mhe_dbl_encode(centre)), dp_args),
                          call = call)
      dp <- mhe_dp_bind(dp, attr(second, "dp"))
      # per variable: the layout "ss" (sum of squared deviations, n), as mheVarDS
      second <- mhe_summary_values(second, length(mhe_layout("ss")), p, call)
      rownames(second) <- names(mhe_layout("ss"))
      var <- ifelse(n >= 2, second["ss", ] / (n - 1), NA_real_)
    }
    n <- mhe_count(n)
    n_missing <- mhe_count(first["missing", ])
    result <- data.frame(
      variable = vars, mean = mean, var = var, n = n, n_missing = n_missing,
      Nvalid = n, Nmissing = n_missing, Ntotal = n + n_missing,
      row.names = vars, stringsAsFactors = FALSE
    )
    class(result) <- c("mhe_summary", "data.frame")
    mhe_dp_result(result, dp)
  })
}

# The pooled vector of one round as a matrix, one column per variable.
mhe_summary_values <- function(values, per, p, call) {
  if (length(values) != per * p) {
    mhe_abort(
      "The sites returned {length(values)} pooled value{?s}; {per * p} expected ({per} per variable).",
      class = "server", call = call
    )
  }
  matrix(values, nrow = per, ncol = p)
}

# The variables of a summary: a data frame name, or distinct variable names,
# at most mhe_summary_max_variables of them.
mhe_check_summary_variables <- function(x, call = rlang::caller_env()) {
  max <- mhe_summary_max_variables
  if (!is.character(x) || length(x) == 0L || anyNA(x)) {
    mhe_abort(c(
      "{.arg x} must name 1 to {max} numeric variables, such as {.val D$age}, or a data frame.",
      x = if (is.character(x) && length(x) == 0L) "It names none."
    ), class = "input", call = call)
  }
  if (length(x) > max) {
    mhe_abort(c(
      "{.arg x} can't name more than {max} variables; it names {length(x)}.",
      i = "Summarise them in several calls of at most {max}."
    ), class = "input", call = call)
  }
  if (anyDuplicated(x)) {
    mhe_abort("{.arg x} must name distinct variables; {.val {x[anyDuplicated(x)]}} appears twice.",
              class = "input", call = call)
  }
  for (v in x) mhe_check_variable(v, arg = "x", call = call)
  x
}

# The columns of data frame `x`, as "x$col", the same at every site.
mhe_summary_columns <- function(conns, x, call) {
  found <- mhe_aggregate(conns, call("mheColnamesDS", x), call = call)
  columns <- found[[1]]
  if (!all(vapply(found, identical, TRUE, columns))) {
    mhe_abort("The sites' data frames {.val {x}} have different columns.",
              class = "input", call = call)
  }
  vars <- paste0(x, "$", columns)
  if (length(vars) == 0L || length(vars) > mhe_summary_max_variables) {
    mhe_abort(c(
      "{.arg x} must name 1 to {mhe_summary_max_variables} numeric variables.",
      x = "The data frame {.val {x}} has {length(vars)} column{?s}."
    ), class = "input", call = call)
  }
  for (v in vars) mhe_check_variable(v, arg = "x", call = call)
  vars
}

#' @rdname ds.mheSummary
#' @param digits Significant digits of the pooled values when printed.
#' @param ... Unused.
#' @export
format.mhe_summary <- function(x, digits = getOption("digits"), ...) {
  table <- as.data.frame(x)
  table$variable <- NULL
  table$n <- NULL
  table$n_missing <- NULL
  p <- nrow(table)
  c(
    paste0("Pooled summary of ", p, " variable", if (p != 1L) "s", " (dsMHE, encrypted)"),
    utils::capture.output(print(table, digits = digits)),
    mhe_format_sites(x)
  )
}

#' @rdname ds.mheSummary
#' @export
print.mhe_summary <- function(x, ...) mhe_print_lines(x, ...)
