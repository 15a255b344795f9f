# One shape per aggregate (shared: sites and analyst) -------------------------
#
# Each kind of aggregate vector a site encrypts has one layout: its fields, in
# order, with their lengths. The site builds the vector with `mhe_pack()` and
# the analyst reads the pooled vector with `mhe_unpack()`, both from the same
# `mhe_layout()`, so that a field added on one side cannot be misread on the
# other, and a pooled vector of the wrong length is an error, not a shifted
# read.
#
# - "mean": sum of the usable values, their number, the other rows
#   (mheMeanDS, mheVarDS round 1, mheSummaryDS round 1 per variable);
# - "ss": sum of squared deviations from the pooled mean, number of values
#   (mheVarDS round 2, mheSummaryDS round 2 per variable);
# - "cor-means": column sums over complete cases (`p`), complete cases, rows
#   (mheCorDS round 1);
# - "cor-cross": centred cross products (`p` x `p`, column-major), complete
#   cases (mheCorDS round 2);
# - "histogram-counts": values below the breaks, cell counts (`cells`), values
#   above, cells suppressed; "histogram-range": the same without the last
#   field, each 0/1 (mheHistogramDS);
# - "glm": the upper triangle of X'WX (column-major, `p` columns), X'Wz,
#   the scalars `mhe_glm_scalars`, then the complete cases at each agreed
#   level of each categorical variable (`cells`) (mheGLMDS).

# The scalars of one GLM round, in their order in the layout "glm".
mhe_glm_scalars <- c(
  "dev", "invalid", "nobs", "n_ok", "sum_wy", "sum_w", "aic", "boundary", "nulldev"
)

mhe_layout <- function(kind, p = 1L, cells = 1L) {
  fields <- switch(kind,
    "mean" = c(sum = 1L, n = 1L, missing = 1L),
    "ss" = c(ss = 1L, n = 1L),
    "cor-means" = c(sums = p, n = 1L, rows = 1L),
    "cor-cross" = c(cross = p * p, n = 1L),
    "histogram-counts" = c(under = 1L, cells = cells, over = 1L, suppressed = 1L),
    "histogram-range" = c(under = 1L, cells = cells, over = 1L),
    "glm" = c(xwx = (p * (p + 1L)) %/% 2L, xwz = p,
              stats::setNames(rep(1L, length(mhe_glm_scalars)), mhe_glm_scalars),
              counts = cells),
    stop("unknown aggregate layout: ", kind, call. = FALSE)
  )
  structure(as.integer(fields), names = names(fields), kind = kind, class = "mhe_layout")
}

# The aggregate vector of a layout from its fields, given by name; each field
# must have its layout's length.
mhe_pack <- function(layout, ...) {
  fields <- list(...)
  ok <- identical(names(fields), names(layout)) &&
    identical(as.integer(lengths(fields)), as.vector(unclass(layout)))
  if (!ok) {
    stop("the fields given do not match the layout of ", attr(layout, "kind"), " (",
         paste0(names(layout), "[", layout, "]", collapse = ", "), ")", call. = FALSE)
  }
  as.double(unlist(fields, use.names = FALSE))
}

# The fields of a (pooled) vector of a layout, as a named list; a vector of
# another length is an error of class dsMHE_error_server.
mhe_unpack <- function(layout, v, call = rlang::caller_env()) {
  expected <- sum(layout)
  if (length(v) != expected) {
    kind <- attr(layout, "kind")
    mhe_abort(
      "The sites returned {length(v)} pooled value{?s} for {.val {kind}}; {expected} expected.",
      class = "server", call = call
    )
  }
  split(as.double(v), factor(rep(names(layout), layout), levels = names(layout)))
}

# Widths (issue 16) ------------------------------------------------------------
#
# A count travels at the width its range needs rather than at the 128 bits of
# a real: a site counts at most 2^31 - 1 rows (R's integer range), so at K
# sites the pooled count fits 32 + ceil(log2 K) bits, signed, and the site's
# own count fits 32 bits, as the core checks (`srv_contribute(widths = )`).
# Every site of a query derives the same width from the same site list. A
# count that carries noise (differential privacy) travels at the full width
# instead: the noise's range is not bounded in advance.
mhe_count_width <- function(k) {
  32L + as.integer(ceiling(log2(max(1L, as.integer(k)))))
}

# The count fields of each layout: the others are reals (full width, NA).
mhe_layout_counts <- list(
  "mean" = c("n", "missing"),
  "ss" = "n",
  "cor-means" = c("n", "rows"),
  "cor-cross" = "n",
  "histogram-counts" = c("under", "cells", "over", "suppressed"),
  "histogram-range" = c("under", "cells", "over")
)

# The widths of a layout's vector at K sites: the count width for its count
# fields, NA for the others.
mhe_layout_widths <- function(layout, k) {
  counts <- mhe_layout_counts[[attr(layout, "kind")]]
  is_count <- rep(names(layout), layout) %in% counts
  ifelse(is_count, mhe_count_width(k), NA_integer_)
}
