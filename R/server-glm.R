# Server side of ds.mheGLM(): the site's model and its IRLS aggregates ---------
#
# Every round rebuilds the model from the data, exactly as glm() would on the
# row-bound data: model.frame() of the allow-listed formula, complete cases
# over the formula's variables, weights and offset, categorical variables as
# factors with the agreed levels, treatment contrasts, model.matrix(). Nothing
# is kept between rounds, so a round cannot depend on what an earlier one left.
#
# The vector a site encrypts (or, for the plaintext baseline, returns):
#   the layout "glm" (R/shared-layout.R): upper triangle of X'WX
#   (column-major), X'Wz, then `mhe_glm_scalars`, then the number of complete
#   cases at each agreed level of each categorical variable.

srv_glm_families <- c("gaussian", "binomial", "poisson")


srv_glm_family <- function(name) {
  switch(name,
    gaussian = stats::gaussian(),
    binomial = stats::binomial(),
    poisson = stats::poisson()
  )
}

# The classes a model variable may have at a site.
srv_glm_var_class <- function(x) {
  if (is.factor(x)) return("factor")
  if (is.character(x)) return("character")
  if (is.logical(x)) return("logical")
  if (is.numeric(x)) return("numeric")
  "other"
}

srv_glm_formula <- function(formula, site) {
  srv_string(formula, site, "formula", mhe_b64_pattern, 2L * mhe_glm_formula_max_chars,
             "base64url text without padding")
  raw <- rs_call(rs_b64_decode(formula), site = site)
  if (any(raw == as.raw(0L))) {
    mhe_server_abort(site, "`formula` must not contain NUL bytes")
  }
  text <- rawToChar(raw)
  Encoding(text) <- "UTF-8"
  mhe_glm_formula_parse(text, function(problem) mhe_refuse(site, problem))
}

srv_glm_data <- function(data, env, site) {
  srv_string(data, site, "data", "^[A-Za-z][A-Za-z0-9._]*$", 200L, "a data frame name such as `D`")
  df <- srv_object(data, env, site, "data")
  if (!is.data.frame(df)) {
    mhe_server_abort(site, paste0("`", data, "` must be a data frame"))
  }
  df
}

srv_glm_columns <- function(vars, df, data, site) {
  absent <- setdiff(vars, names(df))
  if (length(absent)) {
    mhe_server_abort(site, paste0("`", data, "` has no column `", absent[1L], "`"))
  }
  class <- vapply(df[vars], srv_glm_var_class, "")
  bad <- class == "other"
  if (any(bad)) {
    mhe_server_abort(site, paste0(
      "`", vars[bad][1L], "` must be numeric, logical, a factor or character, not ",
      srv_type(df[[vars[bad][1L]]])
    ))
  }
  class
}

# The levels round: the class of each model variable, and the levels of the
# categorical ones (with mheLevelsDS()'s checks).
srv_glm_site_levels <- function(env, site, formula, data) {
  parsed <- srv_glm_formula(formula, site)
  df <- srv_glm_data(data, env, site)
  vars <- unique(c(parsed$bare, parsed$arith))
  class <- srv_glm_columns(vars, df, data, site)
  inner <- parsed$arith[class[parsed$arith] %in% c("factor", "character")]
  if (length(inner)) {
    mhe_server_abort(site, paste0("`", inner[1L], "` is categorical: it can't be used inside a function"))
  }
  categorical <- vars[class %in% c("factor", "character")]
  # count the columns from the site's own level counts before reading levels
  held <- vapply(categorical, function(v) length(srv_site_levels(df[[v]])), 1)
  logical <- vars[class == "logical"]
  held <- c(held, stats::setNames(rep(2, length(logical)), logical))
  mhe_glm_count_columns(parsed, held, function(problem) mhe_refuse(site, problem))
  levels <- lapply(categorical, function(v) srv_var_levels(paste0(data, "$", v), env, site)$levels)
  names(levels) <- categorical
  # whether this site has differential privacy on: the client then fits by
  # the DP rounds (rust/mhe/DP.md, section 10)
  list(class = class, levels = levels, dp = !is.null(srv_dp_settings(site)))
}

srv_glm_vector <- function(name, df, data, site, arg) {
  if (is.null(name)) {
    return(NULL)
  }
  srv_string(name, site, arg, mhe_glm_column_pattern, 200L, "a column name")
  if (!name %in% names(df)) {
    mhe_server_abort(site, paste0("`", data, "` has no column `", name, "`"))
  }
  value <- df[[name]]
  if (!is.numeric(value) || is.factor(value)) {
    mhe_server_abort(site, paste0("`", arg, "` column `", name, "` must be numeric, not ", srv_type(value)))
  }
  as.double(value)
}

# The site's model: list(X, y, w, o, n, mustart, family, intercept, counts).
srv_glm_site_model <- function(env, site, parsed, family, data, weights, offset, levels,
                               clip = NULL) {
  df <- srv_glm_data(data, env, site)
  vars <- unique(c(parsed$bare, parsed$arith))
  class <- srv_glm_columns(vars, df, data, site)
  categorical <- vars[class %in% c("factor", "character")]
  if (!setequal(categorical, names(levels)) || any(class[parsed$arith] %in% c("factor", "character"))) {
    mhe_server_abort(site, "`levels` must be given for every categorical variable of the formula, and only for those")
  }
  logical <- vars[class == "logical"]
  mhe_glm_count_columns(parsed, c(lengths(levels), stats::setNames(rep(2, length(logical)), logical)),
                    function(problem) mhe_refuse(site, problem))
  w <- srv_glm_vector(weights, df, data, site, "weights") %||% rep(1, nrow(df))
  o <- srv_glm_vector(offset, df, data, site, "offset") %||% rep(0, nrow(df))
  sub <- df[vars]
  for (v in categorical) sub[[v]] <- as.character(sub[[v]])
  # differential privacy: numeric variables clipped to their effective bounds
  for (v in names(clip)) sub[[v]] <- srv_clip(sub[[v]], clip[[v]])
  mf <- srv_glm_try(site, "the model frame", suppressWarnings(
    stats::model.frame(parsed$formula, data = sub, na.action = stats::na.pass)
  ))
  keep <- stats::complete.cases(mf) & !is.na(w) & !is.na(o)
  mf <- mf[keep, , drop = FALSE]
  for (v in categorical) {
    if (!all(mf[[v]] %in% levels[[v]])) {
      mhe_refuse(site, paste0("`", v, "` has a value here that is not among the given levels"))
    }
    mf[[v]] <- factor(mf[[v]], levels = levels[[v]])
  }
  counts <- unlist(lapply(names(levels), function(v) tabulate(mf[[v]], nbins = length(levels[[v]]))))
  X <- mhe_glm_design(mf, site)
  if (ncol(X) > mhe_glm_max_columns) {
    mhe_refuse(site, paste0("the model has ", ncol(X), " columns; a site fits at most ", mhe_glm_max_columns))
  }
  model <- list(X = X, w = w[keep], o = o[keep], family = srv_glm_family(family),
                intercept = attr(attr(mf, "terms"), "intercept") > 0L,
                counts = as.double(counts), factors = attr(attr(mf, "terms"), "factors"),
                class = class)
  srv_glm_check_values(model, mf, site)
  c(model, srv_glm_initialize(model$family, stats::model.response(mf), model$w, site))
}


srv_glm_check_values <- function(model, mf, site) {
  y <- stats::model.response(mf)
  if (!is.factor(y) && !is.numeric(y) && !is.logical(y)) {
    mhe_server_abort(site, "the response must be numeric, logical or a factor")
  }
  if (is.factor(y) && model$family$family != "binomial") {
    mhe_server_abort(site, paste0("the response must be numeric for the ", model$family$family, " family"))
  }
  finite <- all(is.finite(model$X)) && all(is.finite(model$w)) && all(is.finite(model$o)) &&
    (is.factor(y) || all(is.finite(y)))
  if (!finite) {
    mhe_server_abort(site, "the model has values here that are not finite (such as log(0))")
  }
  if (any(model$w < 0)) {
    mhe_server_abort(site, "`weights` must not be negative")
  }
}

# family$initialize as glm.fit() runs it: sets y (0/1 for a binomial factor),
# n and mustart.
srv_glm_initialize <- function(family, y, weights, site) {
  env <- new.env(parent = baseenv())
  env$y <- y
  env$weights <- weights
  env$nobs <- NROW(y)
  env$family <- family
  env$etastart <- env$start <- env$mustart <- NULL
  srv_glm_try(site, paste("the", family$family, "family"), suppressWarnings(eval(family$initialize, env)))
  list(y = as.double(env$y), n = env$n, mustart = env$mustart)
}

# Evaluate model code; its errors become errors naming the site (or, at the
# client, input errors).
srv_glm_try <- function(site, what, expr) {
  tryCatch(expr, error = function(e) {
    if (inherits(e, "dsMHE_error")) stop(e)
    problem <- paste0(what, ": ", conditionMessage(e))
    if (is.null(site)) mhe_abort("{problem}", class = "input", call = NULL)
    mhe_server_abort(site, problem)
  })
}

# dsBase's glm checks (glmDS1, glmDS2), over the rows that enter the fit
# (complete cases with nonzero weight): at most nfilter.glm parameters per
# row; and the spread rule: the outcome, every model-matrix column, the
# weights and the offset must each spread over at least nfilter.tab effective
# rows (`srv_spread()`), which for a binary column is dsBase's rule (its
# smaller class has at least nfilter.tab rows) and which no tiny perturbation
# of a column fools. A GLM refuses rather than zeroes such a column: the
# formula language holds no constant, so such a column comes from the data
# itself or from a variable built to isolate rows, and a fit with the column
# replaced would be a different model reported under the analyst's formula.
srv_glm_disclosure <- function(model, site, weights, offset) {
  used <- model$w != 0
  n <- sum(used)
  p <- ncol(model$X)
  nfilter_glm <- mhe_nfilter("nfilter.glm")
  if (p > nfilter_glm * n) {
    mhe_refuse(site, paste0(
      "nfilter.glm: the model has ", p, " parameters, more than nfilter.glm (", nfilter_glm,
      ") times the number of observations here (a saturated or near-saturated model)"
    ))
  }
  tab <- mhe_nfilter("nfilter.tab")
  small <- function(v) n > 0 && srv_spread(v[used]) < tab
  rule <- function(what) {
    mhe_refuse(site, paste0(
      "nfilter.tab: ", what, " concentrates on fewer than nfilter.tab (", tab,
      ") observations (effective rows of its deviation from the median)"
    ))
  }
  if (small(model$y)) rule("the outcome")
  binary <- vapply(seq_len(p), function(j) small(model$X[, j]), TRUE)
  if (any(binary)) rule(paste0("the model matrix column `", colnames(model$X)[binary][1L], "`"))
  if (!is.null(weights) && small(model$w)) rule("`weights`")
  if (!is.null(offset) && small(model$o)) rule("`offset`")
  invisible(model)
}

# One IRLS round at the site (as one iteration of glm.fit()): at the current
# linear predictor (from mustart in the "init" round, from `beta` in a "step"
# round), the deviance and the next weighted least-squares system.
srv_glm_values <- function(model, round, null, beta, start, wtdmu, site) {
  fam <- model$family
  X <- if (null) matrix(1, nrow(model$X), 1L) else model$X
  y <- model$y
  w <- model$w
  o <- model$o
  eta <- if (round == "step") {
    drop(X %*% beta) + o
  } else if (null) {
    fam$linkfun(fam$linkinv(drop(model$X %*% start) + o))
  } else {
    fam$linkfun(model$mustart)
  }
  mu <- fam$linkinv(eta)
  p <- ncol(X)
  size <- p * (p + 1L) / 2L + p
  valid <- srv_glm_valid(fam, eta, mu)
  dev <- if (valid) sum(fam$dev.resids(y, mu, w)) else NA
  system <- if (valid && is.finite(dev)) srv_glm_wls_system(X, y, w, o, eta, mu, fam, site)
  eps <- 10 * .Machine$double.eps
  boundary <- switch(fam$family,
    binomial = any(mu > 1 - eps) || any(mu < eps),
    poisson = any(mu < eps),
    FALSE
  )
  scalars <- c(
    dev = dev, invalid = 0, nobs = length(y), n_ok = sum(w != 0), sum_wy = sum(w * y),
    sum_w = sum(w), aic = srv_glm_aic_part(fam, y, model$n, mu, w, dev), boundary = boundary,
    nulldev = srv_glm_nulldev_part(model, wtdmu)
  )
  head <- c(system, scalars[c("dev", "aic", "boundary", "nulldev")])
  if (is.null(system) || !all(is.finite(head)) || any(abs(head) > 2^76)) {
    # glm.fit() halves the step here: tell the client, disclose nothing else
    system <- numeric(size)
    scalars[c("dev", "aic", "boundary", "nulldev")] <- 0
    scalars[["invalid"]] <- 1
  }
  k <- p * (p + 1L) / 2L
  fields <- c(
    list(mhe_layout("glm", p = p, cells = length(model$counts)),
         xwx = system[seq_len(k)], xwz = system[k + seq_len(p)]),
    as.list(scalars[mhe_glm_scalars]), list(counts = model$counts)
  )
  do.call(mhe_pack, fields)
}

srv_glm_valid <- function(fam, eta, mu) {
  valideta <- fam$valideta %||% function(eta) TRUE
  validmu <- fam$validmu %||% function(mu) TRUE
  valideta(eta) && validmu(mu)
}

# Upper triangle of X'WX and X'Wz over the informative rows, as glm.fit().
# Refused when the working weights concentrate on fewer than nfilter.tab
# rows, (sum W)^2 / sum W^2 < nfilter.tab: coefficients chosen by the analyst
# (beta) could otherwise put the weight on one row and read it from X'WX.
srv_glm_wls_system <- function(X, y, w, o, eta, mu, fam, site) {
  mu_eta <- fam$mu.eta(eta)
  varmu <- fam$variance(mu)
  good <- w > 0 & mu_eta != 0
  if (anyNA(varmu[good]) || any(varmu[good] == 0) || anyNA(mu_eta[good])) {
    return(NULL)
  }
  z <- (eta - o)[good] + (y - mu)[good] / mu_eta[good]
  W <- w[good] * mu_eta[good]^2 / varmu[good]
  top <- if (length(W)) max(W) else 0
  tab <- mhe_nfilter("nfilter.tab")
  if (length(W) && (!is.finite(top) || top <= 0 || sum(W / top)^2 / sum((W / top)^2) < tab)) {
    mhe_refuse(site, paste0(
      "nfilter.tab: the IRLS working weights at these coefficients concentrate on fewer than ",
      "nfilter.tab (", tab, ") observations"
    ))
  }
  Xg <- X[good, , drop = FALSE]
  xwx <- crossprod(Xg, Xg * W)
  c(xwx[upper.tri(xwx, diag = TRUE)], crossprod(Xg, W * z))
}

# The family's AIC is a sum over rows for binomial and poisson; gaussian's
# needs the pooled deviance, so the site returns the sum of log(weights).
srv_glm_aic_part <- function(fam, y, n, mu, w, dev) {
  if (fam$family == "gaussian") {
    return(sum(log(w[w > 0])))
  }
  if (!is.finite(dev)) NA else fam$aic(y, n, mu, w, dev)
}

# glm.fit()'s null deviance: at the pooled weighted mean (`wtdmu`, sent by
# the client) with an intercept, at linkinv(offset) without one.
srv_glm_nulldev_part <- function(model, wtdmu) {
  fam <- model$family
  if (model$intercept) {
    if (is.null(wtdmu)) return(0)
    return(sum(fam$dev.resids(model$y, wtdmu, model$w)))
  }
  sum(fam$dev.resids(model$y, fam$linkinv(model$o), model$w))
}

# Validate a round's arguments, build the model, check disclosure, compute.
# Returns list(values, variables) (every data column the round reads).
srv_glm_site_values <- function(env, site, formula, family, data, weights, offset, levels,
                            round, model, beta, start, wtdmu, dp = NULL) {
  parsed <- srv_glm_formula(formula, site)
  family <- srv_string(family, site, "family", "^(gaussian|binomial|poisson)$", 8L,
                       "\"gaussian\", \"binomial\" or \"poisson\"")
  round <- srv_string(round, site, "round", "^(init|step|dp)$", 4L,
                      "\"init\", \"step\" or \"dp\"")
  if (round == "dp") {
    return(srv_glm_dp_site_values(env, site, parsed, family, data, weights, offset, levels,
                                  model, beta, dp))
  }
  model_kind <- srv_string(model, site, "model", "^(full|null)$", 4L, "\"full\" or \"null\"")
  null <- model_kind == "null"
  if (!is.null(levels)) {
    srv_string(levels, site, "levels", mhe_b64_pattern, 1e6, "base64url text without padding")
    levels <- mhe_glm_levels_decode(levels, site)
  }
  m <- srv_glm_site_model(env, site, parsed, family, data, weights, offset, levels %||% list())
  srv_glm_disclosure(m, site, weights, offset)
  if (null && (!m$intercept || is.null(offset))) {
    mhe_server_abort(site, "the null model is fitted only for a model with an intercept and an offset")
  }
  p <- if (null) 1L else ncol(m$X)
  if (round == "step") {
    beta <- srv_doubles(beta %||% "", site, "beta", n = p)
  } else if (null) {
    start <- srv_doubles(start %||% "", site, "start", n = ncol(m$X))
  }
  if (!is.null(wtdmu)) {
    wtdmu <- srv_doubles(wtdmu, site, "wtdmu", n = 1L)
    ok <- switch(family, binomial = wtdmu >= 0 && wtdmu <= 1, poisson = wtdmu >= 0, TRUE)
    if (!ok) {
      mhe_server_abort(site, "`wtdmu` must be a possible mean for the family")
    }
  }
  values <- srv_glm_values(m, round, null, beta, start, wtdmu, site)
  columns <- unique(c(parsed$bare, parsed$arith, weights, offset))
  list(values = values, variables = paste0(data, "$", columns))
}


# Differential privacy (issue 14; rust/mhe/DP.md, section 10) -----------------
#
# A "dp" round releases, at the analyst's coefficients `beta` (on the scaled
# columns), `scale` times the upper triangle of U'WU, the score U'R, for
# gaussian the sum of the squared scaled responses, and (when `scale` > 0) the
# number of rows, where U is the model matrix with every column clipped (its
# variables clipped to their effective bounds) and mapped to [-1, 1] by the
# analyst's bounds (`mhe_glm_dp_ranges()`), its intercept column set to
# `intercept_scale`. With `norm`, every row's terms carry the weight
# min(1, norm / ||u||^2) (a Mallows-type bounded-influence fit: the rows stay
# as they are, so the weighted score's root is still consistent). Its
# sensitivity is DP.md 10.2's. The round's epsilon is the share `share` of
# the fit's zCDP cost at the fit's epsilon (the analyst's `epsilon`, at most
# this site's per-query epsilon): a fit costs one query's budget whatever its
# rounds.

srv_glm_dp_number <- function(x, site, arg, lower, upper, lower_open = FALSE) {
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && is.finite(x) &&
    (if (lower_open) x > lower else x >= lower) && x <= upper
  if (!ok) {
    mhe_server_abort(site, paste0(
      "`", arg, "` must be a number in ", if (lower_open) "(" else "[", lower, ", ", upper, "]"
    ))
  }
  as.double(x)
}

# The DP arguments of a "dp" round, checked: list(bounds (analyst's, named
# "D$v"), epsilon, share, scale, norm, intercept_scale). `norm` is checked
# against the intercept's scale once the model is known.
srv_glm_dp_args <- function(dp, site) {
  list(
    bounds = srv_dp_bounds_arg(dp$bounds, site),
    epsilon = dp$epsilon,
    share = srv_glm_dp_number(dp$share %||% 1, site, "share", 0, 1, lower_open = TRUE),
    scale = srv_glm_dp_number(dp$scale %||% 1, site, "scale", 0, 1),
    norm = if (!is.null(dp$norm)) srv_glm_dp_number(dp$norm, site, "norm", 0, 1e6, lower_open = TRUE),
    intercept_scale = srv_glm_dp_number(dp$intercept_scale %||% 1, site, "intercept_scale", 0, 1,
                                        lower_open = TRUE)
  )
}

srv_glm_dp_site_values <- function(env, site, parsed, family, data, weights, offset, levels,
                                   model, beta, dp) {
  args <- srv_glm_dp_args(dp, site)
  settings <- srv_dp_settings(site)
  unsupported <- function(rule) srv_dp_refuse(site, paste0("a GLM under differential privacy ", rule))
  model <- srv_string(model, site, "model", "^(full|null)$", 4L, "\"full\" or \"null\"")
  if (model != "full") unsupported("fits only the full model (no null deviance)")
  if (!is.null(weights)) unsupported("takes no prior `weights` (they would be unbounded)")
  if (length(parsed$arith)) {
    unsupported(paste0(
      "takes columns only, not transforms such as `", parsed$arith[1L], "`: build the ",
      "variable and give its bounds"
    ))
  }
  if (family == "gaussian" && !is.null(offset)) unsupported("of the gaussian family takes no offset")
  if (!is.null(levels)) {
    srv_string(levels, site, "levels", mhe_b64_pattern, 1e6, "base64url text without padding")
    levels <- mhe_glm_levels_decode(levels, site)
  }
  df <- srv_glm_data(data, env, site)
  vars <- unique(parsed$bare)
  class <- srv_glm_columns(vars, df, data, site)
  numeric <- vars[class == "numeric"]
  if (family == "binomial") numeric <- setdiff(numeric, parsed$response)
  # the analyst's bounds map the columns (every site the same map); the
  # effective ones (the admin's win) clip
  given <- args$bounds
  keys <- paste0(data, "$", numeric)
  missing <- keys[!keys %in% names(given)]
  if (length(missing)) {
    unsupported(paste0(
      "needs `bounds` for every numeric variable of the model: `", missing[1L], "` has none"
    ))
  }
  clip <- stats::setNames(lapply(keys, function(k) {
    if (is.null(settings)) given[[k]] else srv_dp_bounds(k, given[[k]], site, settings)
  }), numeric)
  m <- srv_glm_site_model(env, site, parsed, family, data, weights, offset, levels %||% list(),
                          clip = clip)
  srv_glm_disclosure(m, site, weights, offset)
  analyst <- stats::setNames(given[keys], numeric)
  ranges <- mhe_glm_dp_ranges(m$X, m$factors, m$class, analyst, m$intercept,
                              function(problem) unsupported(problem))
  p <- ncol(m$X)
  beta <- srv_doubles(beta %||% "", site, "beta", n = p)
  # every row has the intercept coordinate: a norm below its square would
  # weight every row, the intercept-only model included
  kappa2 <- if (m$intercept) args$intercept_scale^2 else 0
  if (!is.null(args$norm) && !(args$norm > kappa2)) {
    mhe_server_abort(site, paste0("`norm` must be above intercept_scale^2 (", kappa2, ")"))
  }
  values <- srv_glm_dp_values(m, family, ranges, beta, args$scale, args$norm,
                              response = if (family != "binomial") analyst[[parsed$response]],
                              intercept = m$intercept, kappa = args$intercept_scale)
  epsilon <- if (!is.null(settings)) {
    total <- srv_dp_epsilon(args$epsilon, settings, site)
    rho <- mhe_glm_dp_rho_for_epsilon(total, settings$delta)
    # a hair below the share (1e-9), so that the rounds' costs, each
    # calibrated by the core from its epsilon, never add up above the query's
    mhe_glm_dp_epsilon_of_rho(args$share * rho * (1 - 1e-9), settings$delta)
  }
  columns <- unique(c(parsed$bare, parsed$arith, weights, offset))
  list(values = values$values, variables = paste0(data, "$", columns),
       sensitivity = values$sensitivity, epsilon = epsilon)
}

# The round's vector (layout mhe_glm_dp_layout()) and its sensitivity
# list(l2, l1) (DP.md 10.2). `kappa`: the intercept column's value.
srv_glm_dp_values <- function(m, family, ranges, beta, scale, norm, response, intercept,
                              kappa = 1) {
  U <- srv_glm_dp_unit(m$X, ranges, intercept, kappa)
  p <- ncol(U)
  # the largest squared norm of a row; with `norm`, of a weighted row
  # (omega ||u||^2 = min(||u||^2, norm))
  C2 <- if (intercept) kappa^2 + (p - 1) else p
  omega <- rep(1, nrow(U))
  if (!is.null(norm)) {
    omega <- pmin(1, norm / rowSums(U^2))
    C2 <- min(norm, C2)
  }
  terms <- srv_glm_dp_terms(m, family, U %*% beta, response, intercept)
  k <- p * (p + 1L) / 2L
  xwx <- if (scale > 0) {
    a <- crossprod(U, U * (omega * terms$W))
    scale * a[upper.tri(a, diag = TRUE)]
  } else {
    numeric(k)
  }
  n <- if (scale > 0) nrow(U) else 0
  values <- mhe_pack(mhe_glm_dp_layout(p), xwx = xwx, xr = drop(crossprod(U, omega * terms$R)),
                     vv = sum(omega * terms$v2), n = n)
  gauss <- as.numeric(family == "gaussian")
  counted <- as.numeric(scale > 0)
  w_max <- terms$w_max
  r_max <- terms$r_max
  l2 <- sqrt(scale^2 * w_max^2 * (C2^2 + C2) / 2 + C2 * r_max^2 + gauss + counted)
  l1 <- scale * w_max * (p + 1) * C2 / 2 + r_max * sqrt(p * C2) + gauss + counted
  list(values = values, sensitivity = list(l2 = l2, l1 = max(l1, l2)))
}

# The model matrix mapped to [-1, 1] by `ranges`, the intercept column `kappa`.
srv_glm_dp_unit <- function(X, ranges, intercept, kappa) {
  U <- sweep(sweep(X, 2L, ranges$m), 2L, ranges$r, "/")
  U <- pmin(pmax(U, -1), 1) # rounding only: the clipped columns are within their ranges
  dim(U) <- dim(X)
  if (intercept) U[, 1L] <- kappa
  U
}

# Each row's working weight W, residual R and (gaussian) squared scaled
# response v2 at the linear predictor `eta` (offset added here), with their
# bounds w_max and r_max (DP.md 10.1).
srv_glm_dp_terms <- function(m, family, eta, response, intercept) {
  eta <- drop(eta) + m$o
  fam <- m$family
  if (family == "gaussian") {
    # the response (clipped) on [-1, 1] by the analyst's bounds
    ry <- mhe_glm_dp_range(response, intercept)
    v <- pmin(pmax((m$y - ry$m) / ry$r, -1), 1)
    return(list(W = rep(1, length(v)), R = v, v2 = v^2, w_max = 1, r_max = 1))
  }
  if (family == "binomial") {
    mu <- fam$linkinv(eta)
    return(list(W = mu * (1 - mu), R = m$y - mu, v2 = 0, w_max = 1 / 4, r_max = 1))
  }
  M <- max(response[2L], 0)
  mu <- pmin(fam$linkinv(eta), M)
  list(W = mu, R = pmin(pmax(m$y, 0), M) - mu, v2 = 0, w_max = M, r_max = M)
}
