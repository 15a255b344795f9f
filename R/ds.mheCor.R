#' Pooled correlation and covariance matrices over DataSHIELD sites, encrypted
#'
#' Over the complete cases of the given columns at each site (the semantics
#' of `ds.cor(type = "combine")`), in two encrypted rounds: the pooled means,
#' then the pooled cross products of the columns centred at those means. A
#' site with fewer than `nfilter.tab` complete cases (but some) refuses.
#'
#' @param x A data frame name (`"D"`, all its columns, which must be numeric)
#'   or a character vector of variables (`c("D$a", "D$b")`).
#' @inheritParams ds.mheMean
#' @returns An object of class `mhe_cor`, a list: `cor`, `cov` (matrices),
#'   `means` (named vector), `n` (complete cases), and dsBase's `Nvalid` (=
#'   `n`), `Nmissing` (rows with a missing value in any of the columns) and
#'   `Ntotal` (rows); attribute `sites` as in [ds.mheMean()]. It prints the
#'   pooled correlation matrix, the counts and the sites.
#' @family client functions
#' @export
ds.mheCor <- function(x, datasources = NULL, type = "combine", epsilon = NULL,
                      bounds = NULL) {
  mhe_check_type(type, instead = "The pooled covariance matrix is in the result as {.field cov}.")
  conns <- mhe_conns(datasources)
  ok <- is.character(x) && length(x) >= 1L && !anyNA(x) && !anyDuplicated(x)
  if (!ok) {
    mhe_abort("{.arg x} must be a data frame name or distinct variable names.", class = "input")
  }
  frame <- length(x) == 1L && !grepl("$", x, fixed = TRUE)
  if (frame) {
    x <- mhe_check_variable(x)
  } else {
    for (v in x) mhe_check_variable(v, arg = "x")
  }
  mhe_run(conns, function(run, call) {
    if (frame) {
      found <- mhe_aggregate(run$conns, call("mheColnamesDS", x), call = call)
      columns <- found[[1]]
      if (!all(vapply(found, identical, TRUE, columns))) {
        mhe_abort("The sites' data frames {.val {x}} have different columns.",
                  class = "input", call = call)
      }
      x_arg <- x
    } else {
      columns <- sub("^[^$]*\\$", "", x)
      x_arg <- paste(x, collapse = ",")
    }
    p <- length(columns)
    variables <- if (frame) paste0(x, "$", columns) else x
    dp_args <- mhe_dp_args(bounds, epsilon, variables, call = call)
    first <- mhe_query(run, "mheCorDS", c(list(x_arg, NULL), dp_args), call = call)
    dp <- attr(first, "dp")
    first <- mhe_unpack(mhe_layout("cor-means", p = p), first, call)
    n <- first$n
    total <- mhe_count(first$rows)
    means <- stats::setNames(first$sums / n, columns)
    second <- mhe_query(run, "mheCorDS", c(list(x_arg, mhe_dbl_encode(means)), dp_args),
                        call = call)
    dp <- mhe_dp_bind(dp, attr(second, "dp"))
    second <- mhe_unpack(mhe_layout("cor-cross", p = p), second, call)
    cross <- matrix(second$cross, p, p, dimnames = list(columns, columns))
    # with DP each cell carries its own noise: keep the matrix symmetric
    if (!is.null(dp)) cross <- (cross + t(cross)) / 2
    cov <- cross / (n - 1)
    n <- mhe_count(n)
    mhe_dp_result(structure(list(
      cor = stats::cov2cor(cov), cov = cov, means = means, n = n,
      Nvalid = n, Nmissing = total - n, Ntotal = total
    ), class = "mhe_cor"), dp)
  })
}
