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
  mf <- mhe_glm_fake_frame(spec)
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

# Differential privacy (issue 14; rust/mhe/DP.md, section 10) -----------------
#
# When a site has DP on, the fit runs a fixed plan of "dp" rounds on columns
# mapped to [-1, 1] by the analyst's bounds: round k spends the share
# `fractions[k]` of the fit's zCDP cost and releases `scales[k]` x U'WU (0:
# the score only, the last matrix reused) and the score U'(y - mu); the client
# takes Newton steps g <- g + A^-1 s from g = 0 (gaussian: one round, the
# least-squares system). Nothing else is released: no deviance, no AIC.

mhe_glm_dp_plan <- function(family) {
  if (family == "gaussian") {
    return(list(fractions = 1, scales = 1))
  }
  list(fractions = c(0.05, 0.05, 0.1, 0.8), scales = c(1, 1, 1, 0))
}

# The noisy matrix (upper triangle `xwx`, noise sd `sd` per value) as a
# symmetric positive definite matrix: eigenvalues raised to half the spectral
# norm a symmetric noise matrix of that sd reaches (about 2 sqrt(p) sd,
# Wigner): positive, and low enough not to bias the steps of an
# ill-conditioned design (a floor at the full norm did, measurably, for an
# interaction). Post-processing of the release (DP.md 10.4).
mhe_glm_dp_matrix <- function(xwx, p, sd) {
  A <- matrix(0, p, p)
  A[upper.tri(A, diag = TRUE)] <- xwx
  A[lower.tri(A)] <- t(A)[lower.tri(A)]
  e <- eigen(A, symmetric = TRUE)
  floor <- max(0.5 * 2 * sqrt(p) * sd, 1e-8 * max(abs(e$values), 1))
  e$vectors %*% (pmax(e$values, floor) * t(e$vectors))
}

# The poisson start from round 1 (at g = 0, no offset, intercept first, every
# rate m0 = min(1, M)): there A = m0 U'WU and s = U'W(y - m0) (W the row
# weights), so c = m0 (A^-1 s + e_1 / kappa) is the least-squares line of y
# on u. Its log-linear tangent at the mean row ubar (A's first column over
# A[1, 1], times kappa) is the start: slopes c / mu, mu = ubar'c, intercept
# from log(mu) = ubar'g. The Newton step from g = 0 scales the slopes by mu
# instead (1.77 times too steep on the test's data), a start so far off
# that the fourth round's quasi-Newton step, on a matrix from round 3,
# misses by more than the reported error (DP.md 10.7). NULL
# (take the Newton step) when the noisy line's mean rate is not positive.
# Post-processing of round 1's release: no privacy cost.
mhe_glm_dp_start <- function(A, s, kappa, m0) {
  c <- solve(A, s)
  c[1L] <- c[1L] + 1 / kappa
  c <- m0 * c
  ubar <- A[, 1L] / A[1L, 1L] * kappa
  mu <- sum(ubar * c)
  if (!is.finite(mu) || mu <= 0) {
    return(NULL)
  }
  g <- c / mu
  g[1L] <- (log(mu) - sum(ubar[-1L] * g[-1L])) / kappa
  g
}

# The rate m0 every row has at g = 0 when round 1 can start log-linear
# (poisson with an intercept and no offset: min(1, M), M the response's upper
# bound), else NULL.
mhe_glm_dp_start_rate <- function(spec, bounds) {
  if (spec$family != "poisson" || !isTRUE(spec$intercept) || !is.null(spec$offset)) {
    return(NULL)
  }
  m0 <- min(1, max(bounds[[spec$parsed$response]][2L], 0))
  if (m0 > 0) m0
}

# The numeric variables that need bounds (the binomial response does not),
# and the analyst's bounds as a list named by column and as the server text.
mhe_glm_dp_bounds <- function(spec, bounds, call) {
  vars <- names(spec$classes)[spec$classes == "numeric"]
  if (spec$family == "binomial") vars <- setdiff(vars, spec$parsed$response)
  keys <- paste0(spec$data, "$", vars)
  if (is.list(bounds) && !is.null(names(bounds))) {
    # names with or without "D$"; bounds of variables not in the model unused
    bare <- !grepl("$", names(bounds), fixed = TRUE)
    names(bounds)[bare] <- paste0(spec$data, "$", names(bounds)[bare])
    bounds <- bounds[names(bounds) %in% keys]
  }
  text <- mhe_dp_bounds_arg(bounds, keys, call = call)
  given <- if (is.numeric(bounds)) stats::setNames(rep(list(bounds), length(keys)), keys) else bounds
  absent <- keys[!keys %in% names(given)]
  if (length(absent)) {
    mhe_abort(c(
      "A site has differential privacy on: {.fn ds.mheGLM} needs {.arg bounds} for every numeric variable.",
      x = "No bounds for {.var {absent}}.",
      i = "Give {.code bounds = list({absent[1]} = c(lower, upper), ...)}."
    ), class = "input", call = call)
  }
  list(by_var = stats::setNames(given[keys], vars), text = text)
}

mhe_glm_dp_check <- function(spec, weights, norm, kappa, call) {
  fail <- function(problem) {
    mhe_abort(c("A site has differential privacy on.", x = problem), class = "input", call = call)
  }
  if (length(spec$parsed$arith)) {
    fail(paste0("Under differential privacy a GLM takes columns only, not transforms such as `",
                spec$parsed$arith[1L], "`: build the variable and give its bounds."))
  }
  if (!is.null(weights)) fail("Under differential privacy a GLM takes no prior weights.")
  if (spec$family == "gaussian" && !is.null(spec$offset)) {
    fail("Under differential privacy a gaussian GLM takes no offset.")
  }
  ok <- is.numeric(kappa) && length(kappa) == 1L && !is.na(kappa) && kappa > 0 && kappa <= 1
  if (!ok) fail("`intercept_scale` must be a number in (0, 1].")
  # every row has the intercept coordinate, so a norm at or below its square
  # would weight every row
  kappa2 <- if (isTRUE(spec$intercept)) kappa^2 else 0
  ok <- is.null(norm) || (is.numeric(norm) && length(norm) == 1L && !is.na(norm) &&
                            is.finite(norm) && norm > kappa2 && norm <= 1e6)
  if (!ok) {
    fail(paste0("`norm` must be NULL or a number above intercept_scale^2 (", kappa2,
                ") and at most 1e6."))
  }
}

# The fit under DP: the plan's rounds, then the coefficients mapped back to
# the columns' units with their covariance (sampling plus noise, DP.md 10.5).
mhe_glm_dp_fit <- function(spec, pool, bounds, epsilon, norm, call, kappa = 1) {
  kappa <- mhe_wire_number(kappa)
  norm <- mhe_wire_number(norm)
  mhe_glm_dp_check(spec, spec$weights, norm, kappa, call)
  b <- mhe_glm_dp_bounds(spec, bounds, call)
  fake <- mhe_glm_fake_frame(spec)
  X <- mhe_glm_design(fake)
  factors <- attr(attr(fake, "terms"), "factors")
  ranges <- mhe_glm_dp_ranges(X, factors, spec$classes, b$by_var, spec$intercept,
                              function(problem) mhe_abort(c(
                                "A site has differential privacy on.",
                                x = paste0("A GLM under differential privacy ", problem, ".")
                              ), class = "input", call = call))
  p <- ncol(X)
  plan <- mhe_glm_dp_plan(spec$family)
  start <- mhe_glm_dp_start_rate(spec, b$by_var)
  g <- numeric(p)
  A <- NULL
  facts <- list()
  n <- NA_real_
  for (k in seq_along(plan$fractions)) {
    scale <- plan$scales[k]
    args <- list(
      formula = spec$b64, family = spec$family, data = spec$data, offset = spec$offset,
      levels = mhe_glm_levels_encode(spec$levels), round = "dp", model = "full",
      beta = mhe_dbl_encode(g), bounds = b$text, epsilon = epsilon,
      share = plan$fractions[k], scale = scale, norm = norm,
      intercept_scale = if (kappa != 1) kappa
    )
    args <- args[!vapply(args, is.null, TRUE)]
    v <- pool(args)
    dp <- attr(v, "dp")
    facts[[k]] <- dp
    V <- mhe_dp_noise_variance(dp)
    f <- mhe_unpack(mhe_glm_dp_layout(p), v, call)
    if (scale > 0) {
      A <- mhe_glm_dp_matrix(f$xwx / scale, p, sqrt(V) / scale)
      sd_A <- sqrt(V) / scale
      n <- f$n
    }
    step <- solve(A, f$xr)
    g1 <- if (k == 1L && !is.null(start)) mhe_glm_dp_start(A, f$xr, kappa, start)
    if (!is.null(g1)) step <- g1 - g
    g <- if (spec$family == "gaussian") step else g + step
    last <- f
  }
  Ai <- solve(A)
  Ai <- (Ai + t(Ai)) / 2
  # the noise, to first order: the last score's (V per value) and the
  # matrix's acting on the last step d (gaussian: the whole estimate), E d
  # with E symmetric of sd sd_A: Cov(E d) = sd_A^2 (|d|^2 I + d d' - diag(d^2))
  ed <- sd_A^2 * (sum(step^2) * diag(p) + outer(step, step) - diag(step^2, p))
  noise <- V * Ai %*% Ai + Ai %*% ed %*% Ai
  n_rows <- max(mhe_count(n), p + 1)
  dispersion <- 1
  if (spec$family == "gaussian") {
    # RSS on the scaled response
    rss <- max(last$vv - 2 * sum(g * last$xr) + drop(t(g) %*% A %*% g), 0)
    dispersion <- rss / max(n_rows - p, 1)
  }
  # back to the columns' units: b = J g (and the response's units, gaussian);
  # the intercept column is kappa, so b_0 = kappa g_0 - sum_c g_c m_c / r_c
  J <- diag(1 / ranges$r, p)
  if (spec$intercept) {
    J[1L, 1L] <- kappa
    J[1L, -1L] <- -ranges$m[-1L] / ranges$r[-1L]
  }
  ry <- list(m = 0, r = 1)
  if (spec$family == "gaussian") {
    ry <- mhe_glm_dp_range(b$by_var[[spec$parsed$response]], spec$intercept)
  }
  beta <- drop(J %*% g) * ry$r
  if (spec$intercept) beta[1L] <- beta[1L] + ry$m
  back <- function(S) J %*% S %*% t(J) * ry$r^2
  list(beta = beta, cov = back(dispersion * Ai + noise), noise_cov = back(noise),
       dispersion = dispersion * ry$r^2, n = n_rows, rounds = length(plan$fractions),
       dp = do.call(mhe_dp_bind, facts))
}

# A one-row model frame of stand-in values with the model's terms: the
# client runs the sites' design code on it to learn the columns.
mhe_glm_fake_frame <- function(spec) {
  vars <- names(spec$classes)
  fake <- lapply(vars, function(v) {
    switch(spec$classes[[v]],
      numeric = 1,
      logical = TRUE,
      factor(spec$levels[[v]][1L], levels = spec$levels[[v]])
    )
  })
  fake <- structure(fake, names = vars, class = "data.frame", row.names = 1L)
  suppressWarnings(stats::model.frame(spec$parsed$formula, data = fake, na.action = stats::na.pass))
}

# The result of a DP fit, as mhe_glm_result(): what is not released is NA.
mhe_glm_dp_result <- function(spec, fit, sites) {
  columns <- spec$columns
  gaussian <- spec$family == "gaussian"
  p <- length(columns)
  df_residual <- fit$n - p
  cov <- fit$cov
  dimnames(cov) <- list(columns, columns)
  se <- sqrt(diag(cov))
  stat <- fit$beta / se
  pv <- if (gaussian) 2 * stats::pt(-abs(stat), df_residual) else 2 * stats::pnorm(-abs(stat))
  table <- cbind(fit$beta, se, stat, pv)
  dimnames(table) <- list(columns, c(
    "Estimate", "Std. Error",
    if (gaussian) c("t value", "Pr(>|t|)") else c("z value", "Pr(>|z|)")
  ))
  structure(list(
    coefficients = table, deviance = NA_real_, null.deviance = NA_real_,
    df.residual = df_residual, df.null = fit$n - as.integer(spec$intercept), aic = NA_real_,
    iter = fit$rounds, n = fit$n, family = spec$family, dispersion = fit$dispersion,
    cov.unscaled = cov / fit$dispersion, aliased = stats::setNames(rep(FALSE, p), columns),
    rank = p, converged = NA, formula = spec$parsed$text, data = spec$data,
    weights = spec$weights, offset = spec$offset, sites = sites, dp = fit$dp,
    dp.noise = stats::setNames(sqrt(diag(fit$noise_cov)), columns)
  ), class = "mheGLM")
}

# The print lines of a DP fit's facts: the mechanism, per site the fit's
# epsilon (its rounds' zCDP costs added, at the site's delta) and the budget
# left after the last round.
mhe_glm_format_dp <- function(dp, rounds) {
  f <- function(x) format(signif(x, 3), scientific = abs(x) < 1e-3 && x != 0)
  sites <- unique(dp$site)
  lines <- vapply(sites, function(s) {
    d <- dp[dp$site == s, , drop = FALSE]
    last <- d[nrow(d), ]
    eps <- mhe_glm_dp_epsilon_of_rho(sum(d$rho), last$delta)
    paste0("  ", s, ": epsilon ", f(eps), " (delta ", f(last$delta), ") over ", nrow(d),
           " rounds; budget left: rho ", f(last$budget_left_rho), " (epsilon spent ",
           f(last$epsilon_spent), ")")
  }, "")
  c(paste0("Differential privacy: ", dp$mechanism[1L], "; ", rounds,
           " noisy rounds; standard errors include the noise."), lines)
}
