# Client side of ds.mheGLM(): arguments, levels, IRLS on pooled sums ---------
#
# The statistics happen here, on pooled and decrypted aggregates only: each
# round returns the pooled X'WX, X'Wz, deviance and counts (see
# R/server-glm.R for the layout), and the client follows glm.fit() step
# by step, so that the iterations, the convergence decision and the results
# are glm()'s.

mhe_glm_epsilon <- 1e-8 # glm.control()'s default
mhe_glm_alias_tol <- 1e-10

# The analyst's arguments, checked, as list(parsed, family, data, weights,
# offset, maxit, b64).
mhe_glm_client_spec <- function(formula, family, data, weights, offset, maxit, call) {
  fail <- function(problem) mhe_abort("{problem}", class = "input", call = call)
  text <- if (inherits(formula, "formula")) {
    paste(deparse(formula, width.cutoff = 500L), collapse = " ")
  } else if (is.character(formula) && length(formula) == 1L && !is.na(formula)) {
    formula
  } else {
    fail("`formula` must be a formula or a single string")
  }
  parsed <- mhe_glm_formula_parse(text, fail)
  family <- mhe_glm_client_family(family, fail)
  ok <- is.character(data) && length(data) == 1L && !is.na(data) &&
    grepl("^[A-Za-z][A-Za-z0-9._]*$", data)
  if (!ok) fail("`data` must be the name of a data frame on the sites, such as \"D\"")
  ok <- is.numeric(maxit) && length(maxit) == 1L && !is.na(maxit) && maxit == round(maxit) &&
    maxit >= 1 && maxit <= 1000
  if (!ok) fail("`maxit` must be a whole number from 1 to 1000")
  list(
    parsed = parsed, family = family, data = data,
    weights = mhe_glm_client_column(weights, data, "weights", fail),
    offset = mhe_glm_client_column(offset, data, "offset", fail),
    maxit = as.integer(maxit),
    b64 = rs_call(rs_b64_encode(charToRaw(enc2utf8(parsed$text))))
  )
}

mhe_glm_client_family <- function(family, fail) {
  canonical <- c(gaussian = "identity", binomial = "logit", poisson = "log")
  if (inherits(family, "family")) {
    if (!family$family %in% names(canonical) || family$link != canonical[[family$family]]) {
      fail("`family` must be gaussian, binomial or poisson with its canonical link")
    }
    return(family$family)
  }
  ok <- is.character(family) && length(family) == 1L && family %in% names(canonical)
  if (!ok) fail("`family` must be \"gaussian\", \"binomial\" or \"poisson\"")
  family
}

# A column name (weights, offset): "w" or "D$w".
mhe_glm_client_column <- function(x, data, arg, fail) {
  if (is.null(x)) {
    return(NULL)
  }
  if (is.character(x) && length(x) == 1L && !is.na(x)) {
    x <- sub(paste0("^", gsub(".", "\\.", data, fixed = TRUE), "\\$"), "", x)
  }
  if (!is.character(x) || length(x) != 1L || is.na(x) || !grepl(mhe_glm_column_pattern, x)) {
    fail(paste0("`", arg, "` must be NULL or the name of a column of `data`"))
  }
  x
}

# Agree on the classes and levels of the model's variables from the sites'
# answers to mheGLMLevelsDS(). Factors everywhere: the union in the order
# rbind() gives the sites' data frames; otherwise (character) sorted, as
# factor() sorts.
mhe_glm_agree_levels <- function(found, call) {
  kinds <- lapply(found, function(f) {
    k <- f$class
    k[k %in% c("factor", "character")] <- "categorical"
    k
  })
  vars <- names(found[[1L]]$class)
  for (v in vars) {
    k <- vapply(kinds, function(x) x[[v]], "")
    if (length(unique(k)) > 1L) {
      where <- paste0(names(found), ": ", k, collapse = ", ")
      mhe_abort("{.var {v}} has different types at the sites ({where}).", class = "input", call = call)
    }
  }
  classes <- kinds[[1L]]
  categorical <- vars[classes == "categorical"]
  levels <- lapply(categorical, function(v) {
    sets <- lapply(found, function(f) as.character(f$levels[[v]]))
    all <- unique(unlist(sets))
    if (all(vapply(found, function(f) f$class[[v]] == "factor", TRUE))) all else sort(all)
  })
  names(levels) <- categorical
  list(classes = classes, levels = levels)
}

# The model matrix's column names, from the same design code as the sites run,
# on a one-row frame of stand-in values.
mhe_glm_client_columns <- function(spec) {
  vars <- names(spec$classes)
  fake <- lapply(vars, function(v) {
    switch(spec$classes[[v]],
      numeric = 1,
      logical = TRUE,
      factor(spec$levels[[v]][1L], levels = spec$levels[[v]])
    )
  })
  fake <- structure(fake, names = vars, class = "data.frame", row.names = 1L)
  mf <- suppressWarnings(stats::model.frame(spec$parsed$formula, data = fake, na.action = stats::na.pass))
  list(
    columns = colnames(mhe_glm_design(mf)),
    intercept = attr(attr(mf, "terms"), "intercept") > 0L
  )
}

# Covariates need two levels (treatment contrasts), as in glm().
mhe_glm_check_levels <- function(spec, call) {
  covariates <- setdiff(names(spec$levels), spec$parsed$response)
  single <- covariates[lengths(spec$levels[covariates]) < 2L]
  if (length(single)) {
    mhe_abort(c(
      "{.var {single[1]}} must have at least two levels among the complete cases.",
      i = "A factor with one level can't be a model term (as in {.fn glm})."
    ), class = "input", call = call)
  }
}

# The pooled vector of one round (layout "glm", `cells` level counts), as
# list(A, b, <mhe_glm_scalars>, counts).
mhe_glm_unpack <- function(v, p, cells, call = rlang::caller_env()) {
  fields <- mhe_unpack(mhe_layout("glm", p = p, cells = cells), v, call)
  A <- matrix(0, p, p)
  A[upper.tri(A, diag = TRUE)] <- fields$xwx
  A[lower.tri(A)] <- t(A)[lower.tri(A)]
  c(list(A = A, b = fields$xwz), fields[mhe_glm_scalars], list(counts = fields$counts))
}

# Weighted least squares from the pooled normal equations. Columns are taken
# left to right, as glm.fit()'s QR (LINPACK dqrdc2) does, and a column whose
# squared residual on the columns kept before it is below mhe_glm_alias_tol of its
# squared norm is aliased (coefficient NA, as glm()). The system is scaled to
# unit diagonal first.
mhe_glm_solve <- function(A, b) {
  p <- length(b)
  d <- sqrt(pmax(diag(A), 0))
  keep <- integer()
  R <- matrix(0, 0L, 0L)
  for (j in seq_len(p)) {
    if (!is.finite(d[j]) || d[j] == 0) next
    s <- A[keep, j] / (d[keep] * d[j])
    r <- if (length(keep)) backsolve(R, s, transpose = TRUE) else numeric()
    resid <- 1 - sum(r^2)
    if (resid > mhe_glm_alias_tol) {
      R <- rbind(cbind(R, r), c(numeric(length(keep)), sqrt(resid)))
      keep <- c(keep, j)
    }
  }
  beta <- numeric(p)
  cov <- matrix(NA_real_, p, p)
  if (length(keep)) {
    scaled <- b[keep] / d[keep]
    beta[keep] <- backsolve(R, backsolve(R, scaled, transpose = TRUE)) / d[keep]
    cov[keep, keep] <- chol2inv(R) / outer(d[keep], d[keep])
  }
  list(beta = beta, aliased = !seq_len(p) %in% keep, rank = length(keep), cov = cov)
}

mhe_glm_converged <- function(dev, devold) {
  abs(dev - devold) / (0.1 + abs(dev)) < mhe_glm_epsilon
}

# glm.fit()'s loop: `first` is the pooled init round, `run(beta)` a pooled
# step round. Returns the coefficients (aliased ones 0), the last solve, the
# last round (at the coefficients), the iterations and whether it converged.
# With `progress`, one message per iteration with the pooled deviance (as
# ds.glm's viewIter).
mhe_glm_irls <- function(first, run, maxit, call, progress = FALSE) {
  fail <- function(problem) mhe_abort("{problem}", class = "fit", call = call)
  if (first$invalid > 0) {
    fail("The sites can't find valid starting values for the fit.")
  }
  devold <- first$dev
  system <- first
  coefold <- NULL
  conv <- boundary <- FALSE
  for (iter in seq_len(maxit)) {
    fit <- mhe_glm_solve(system$A, system$b)
    if (!all(is.finite(fit$beta))) {
      fail(paste0("The fit has non-finite coefficients at iteration ", iter, "."))
    }
    if (system$nobs < fit$rank) {
      fail(paste0("The model matrix has rank ", fit$rank, " but only ", system$nobs, " observations."))
    }
    beta <- fit$beta
    current <- run(beta)
    if (current$invalid > 0) {
      if (is.null(coefold)) {
        fail("No valid set of coefficients has been found: the first step is out of bounds.")
      }
      cli::cli_warn("Step size truncated: out of bounds or divergence.", call = call)
      for (halving in seq_len(maxit + 1L)) {
        if (halving > maxit) fail("The step size can't be corrected.")
        beta <- (beta + coefold) / 2
        current <- run(beta)
        if (current$invalid == 0) break
      }
      boundary <- TRUE
    }
    if (progress) mhe_glm_progress(iter, current$dev, devold)
    if (mhe_glm_converged(current$dev, devold)) {
      conv <- TRUE
      break
    }
    devold <- current$dev
    coefold <- beta
    system <- current
  }
  list(beta = beta, solve = fit, last = current, iter = iter, converged = conv, boundary = boundary)
}

mhe_glm_progress <- function(iter, dev, devold) {
  change <- abs(dev - devold) / (0.1 + abs(dev))
  cli::cli_inform(c(i = paste0(
    "Iteration ", iter, ": deviance ", format(dev, digits = 10),
    " (relative change ", format(change, digits = 3), ")"
  )))
}
