#' Generalized linear model over DataSHIELD sites, encrypted
#'
#' @description
#' Fits `glm(formula, family, data, weights, offset)` to the row-bound data of
#' the sites by iteratively reweighted least squares (IRLS), in which every
#' site encrypts its part of each iteration's aggregates and only the pooled
#' sums are ever decrypted. The result equals [stats::glm()] on the pooled
#' data: the same coefficients, standard errors (to 1e-6 relative, glm's own
#' convergence tolerance being 1e-8), deviances, degrees of freedom, AIC and
#' number of iterations. The plaintext counterpart is `ds.glm`.
#'
#' @details
#' ## Rounds
#' 1. **Levels** ([mheGLMLevelsDS()], plaintext metadata): each site reports
#'    the class of every variable of the formula and the levels of the
#'    categorical ones, with [mheLevelsDS()]'s checks (a factor's levels are
#'    metadata; the values of a character variable are its levels, so each
#'    must occur at least `nfilter.tab` times). The client takes the union:
#'    in the order [rbind()] gives when every site has a factor, sorted (as
#'    [factor()] sorts) otherwise. Character variables are factors in the
#'    model; logical covariates are factors with levels `FALSE`, `TRUE`, as
#'    in `model.matrix()`.
#' 2. **Start** ([mheGLMDS()], `round = "init"`): each site runs the family's
#'    `initialize` (as [stats::glm.fit()] does), and encrypts the upper
#'    triangle of \eqn{X'WX}, \eqn{X'Wz}, the deviance at the starting means,
#'    its row counts, and the number of complete cases at each agreed level.
#'    A level with no complete case in the pooled data is dropped and the
#'    round repeated, as `glm()` drops unused levels (`drop.unused.levels`), so
#'    that the reference levels and columns are glm()'s.
#' 3. **Iterations** (`round = "step"`): the client solves the pooled
#'    normal equations and sends \eqn{\beta} (the exact doubles, as hex); each
#'    site returns, encrypted, the deviance at \eqn{\beta} and the next
#'    \eqn{X'WX}, \eqn{X'Wz}. The client stops by glm.control()'s rule,
#'    \eqn{|dev - dev_{old}| / (|dev| + 0.1) < 10^{-8}}, after at most
#'    `maxit` iterations, and halves a step that leaves the valid range (as
#'    glm.fit() does).
#' 4. **Null deviance**: with an intercept and no offset, each site returns its
#'    deviance at the pooled weighted mean of the response with every step; with
#'    an offset, glm() fits the intercept-only model (with the offset) by IRLS,
#'    and so does ds.mheGLM, starting from the fitted values (`model = "null"`);
#'    without an intercept, at the inverse link of the offset.
#'
#' Standard errors are those of `summary.glm()`: from the pooled \eqn{X'WX}
#' of the last iteration, with the dispersion estimated as the Pearson
#' \eqn{\chi^2 / df} for the gaussian family (its deviance over the residual
#' degrees of freedom) and 1 for binomial and poisson. The AIC is the
#' family's: binomial and poisson sites return their term of the
#' log-likelihood at the final fit; the gaussian AIC needs only the pooled
#' deviance, number of rows and sum of log weights.
#'
#' ## The formula
#' The formula travels as base64url text, never as R code. Every site (and
#' first the client) parses it and walks the expression against an allow-list
#' before anything evaluates it: column names of `data`, `0` or `1`, the
#' operators `+ - * : ^ ( )`, and `log()`, `exp()`, `sqrt()`, `log1p()`,
#' `expm1()`, `abs()` and `I()` with arithmetic (`+ - * / ^`) on columns and
#' numbers inside. Anything else (such as `system(...)`, `D$x` or `.`) is
#' refused, naming the site. `weights` and `offset` are column names.
#'
#' ## Disclosure checks at each site (dsBase's glmDS1/glmDS2)
#' Over the rows that enter the fit (complete cases with a nonzero weight), a
#' site refuses when the model has more than `nfilter.glm` parameters per row
#' (a saturated or near-saturated model), or when the outcome, a column of
#' the model matrix, the weights or the offset is binary with a class of
#' fewer than `nfilter.tab` rows. It also refuses values of a categorical
#' variable outside the agreed levels (so that levels can't select rows).
#' The client sees only pooled sums: \eqn{X'WX}, \eqn{X'Wz}, deviances,
#' counts of rows and of complete cases per level (the latter are in the
#' pooled \eqn{X'X} of a gaussian model anyway), and how many sites had a
#' step out of bounds or fitted values numerically 0 or 1.
#'
#' ## Perfect separation
#' When fitted probabilities are numerically 0 or 1 (1e-15 from the boundary)
#' at the end of the fit, `glm()` warns and returns estimates that are
#' not maximum-likelihood estimates (they diverge) and depend on where the
#' iterations stopped; the pooled \eqn{X'WX} is then also below the
#' resolution of the encrypted fixed point (2^-40). `ds.mheGLM()` stops with
#' an error of class `dsMHE_error_separation` instead. A poisson fit with rates
#' numerically 0 gives glm()'s warning.
#'
#' ## Differences from glm()
#' - The least squares are solved from the normal equations rather than by
#'   QR; a column is aliased (coefficient `NA`, as in glm()) when its residual
#'   on the columns before it is below 1e-5 of its norm in the working metric
#'   (glm(): 1e-11 by QR), so only a nearly collinear column can be aliased
#'   here and not in glm().
#' - Unordered and ordered factors both use treatment contrasts, and
#'   `options("contrasts")` is ignored (it may differ between sites).
#' - A step whose site aggregates would exceed the encodable range (2^76) is
#'   halved like one out of bounds.
#'
#' ## Differential privacy
#' When a site's admin has turned differential privacy on (`mhe.dp.epsilon`,
#' see [dsMHE-options]), the levels round says so and the fit runs a fixed
#' plan of noisy rounds instead (`rust/mhe/DP.md`, section 10): every model
#' column is clipped (its variables to their bounds: the analyst's
#' `bounds`, intersected with the admin's `mhe.dp.bounds`) and mapped to
#' \eqn{[-1, 1]} by the analyst's bounds (factor and logical dummies by
#' \eqn{[0, 1]}, interactions by the product of their intervals); binomial
#' and poisson run 4 Newton steps from 0, whose rounds release
#' \eqn{U'WU} (the first three) and the score \eqn{U'(y - \mu)} with noise,
#' spending 5%, 5%, 10% and 80% of the fit's zCDP cost; gaussian one round,
#' the least-squares system. The fit's cost is one query's: `epsilon` (at
#' most, and by default, each site's `mhe.dp.query.epsilon`); every round is
#' charged at every site before it leaves, and a budget that runs out
#' mid-fit stops it with the site's refusal (class
#' `dsMHE_error_refused_budget`), no fit returned. The poisson response is
#' clipped to its bounds and the fitted rates to the upper bound in the
#' weights. Standard errors include the noise (the last score's noise, and
#' the matrix noise acting on the last step); the deviance, the
#' AIC and the null deviance are not released (`NA`), prior `weights`,
#' transforms in the formula and (gaussian) an offset are refused, and unused
#' levels are not dropped. The noise of every round grows with the largest
#' norm a scaled row \eqn{u} can have (intercept included); two optional
#' arguments lower it (DP.md 10.2, 10.6). `intercept_scale` (\eqn{\kappa})
#' sets the intercept column to \eqn{\kappa} instead of 1, an exact
#' reparametrisation (the intercept is mapped back), so on its own it
#' changes only the noise: choose it near the covariates' typical spread in
#' \eqn{u} units (a covariate of standard deviation \eqn{s} within bounds of
#' half width \eqn{r} has spread \eqn{s / r}; 0.25 for \eqn{N(0, 1)} within
#' \eqn{[-4, 4]}). `norm` (\eqn{C^2}) gives each row the weight
#' \eqn{\omega = \min(1, C^2 / \|u\|^2)} in every round (a Mallows-type
#' bounded-influence fit: the rows are not changed, so the estimate stays
#' consistent for the model's coefficients) and lowers the sensitivity to
#' that of rows of squared norm \eqn{C^2}. Choose it a little above
#' \eqn{\kappa^2} plus the typical squared norm of the scaled covariates,
#' so that few rows are weighted (e.g. 1.25 with \eqn{\kappa = 0.25} and 10
#' such covariates: about 4% of rows). The cost: the estimate is that of
#' `glm(..., weights = omega)`, which differs from glm()'s by sampling error
#' (on two samples of 3e5 rows with 4% weighted: at most 0.07 and 0.12 of
#' a standard error), and the reported standard errors, from the weighted
#' information, are conservative for it (DP.md 10.1). The result has `dp` (the sites' DP
#' facts per round) and `dp.noise` (the noise's standard deviation of each
#' coefficient); [print()] shows the mechanism, each site's epsilon for the
#' fit and its budget left.
#'
#' @param formula A formula (or a string) in the columns of `data`, e.g.
#'   `LAB_TSC ~ LAB_HDL * GENDER + log(LAB_TRIG)`.
#' @param family `"gaussian"`, `"binomial"` or `"poisson"` (or the family
#'   object, with its canonical link).
#' @param data Name of the data frame on the sites.
#' @param weights `NULL` or the name of a column of `data` holding prior
#'   weights.
#' @param offset `NULL` or the name of a column of `data` holding an offset.
#' @param maxit Largest number of IRLS iterations (glm.control()'s default, 25).
#' @param epsilon Differential privacy (at sites whose admin turned it on):
#'   the whole fit's epsilon at each site, at most (and by default) the
#'   site's `mhe.dp.query.epsilon`. Ignored with DP off.
#' @param bounds Differential privacy: clipping bounds of the numeric
#'   variables of the model (the binomial response excepted), `c(lower,
#'   upper)` for all or a list named by variable (`list(age = c(0, 120))` or
#'   `"D$age"`). Required for every such variable when a site has DP on;
#'   ignored with DP off.
#' @param norm Differential privacy: `NULL` (no weighting) or a number above
#'   `intercept_scale^2` (with an intercept) and at most 1e6: rows of the
#'   scaled model matrix (intercept included) whose squared norm exceeds it
#'   get the weight `norm / ||u||^2` (see Details).
#' @param intercept_scale Differential privacy: a number in (0, 1], the value
#'   of the intercept column in the scaled model matrix (default 1; see
#'   Details). Ignored without an intercept.
#' @param progress `TRUE` to report each IRLS iteration and its pooled
#'   deviance (a message per iteration, as `viewIter = TRUE` in `ds.glm`),
#'   `FALSE` for silence. By default on, unless
#'   `options(datashield.progress = FALSE)`.
#' @inheritParams ds.mheMean
#' @returns An object of class `mheGLM`, a list: `coefficients` (matrix with
#'   columns `Estimate`, `Std. Error`, `t value` and `Pr(>|t|)` for gaussian,
#'   `z value` and `Pr(>|z|)` otherwise; one row per coefficient not
#'   aliased), `deviance`, `null.deviance`, `df.residual`, `df.null`, `aic`,
#'   `iter`, `n` (observations with nonzero weight), `family` (its name),
#'   `dispersion`, `cov.unscaled`, `aliased`, `rank`, `converged`, `formula`
#'   (text), `data`, `weights`, `offset`, `sites` and `call`. [print()] shows
#'   it as `summary(glm(...))` does; [coef()], [vcov()], [confint()] (Wald
#'   intervals, see [confint.mheGLM()]) and [summary()] work, and
#'   [mheGLMratios()] gives odds ratios (binomial) or rate ratios (poisson)
#'   with their intervals.
#' @family client functions
#' @export
#' @examples
#' \dontrun{
#' ds.mheSetup(conns)
#' ds.mheGLM(LAB_TSC ~ LAB_HDL + GENDER, data = "D", datasources = conns)
#' ds.mheGLM(DIS_DIAB ~ PM_BMI_CONTINUOUS + GENDER, family = "binomial",
#'           datasources = conns)
#' }
ds.mheGLM <- function(formula, family = "gaussian", data = "D", datasources = NULL,
                      weights = NULL, offset = NULL, maxit = 25,
                      progress = getOption("datashield.progress", TRUE),
                      epsilon = NULL, bounds = NULL, norm = NULL, intercept_scale = 1) {
  conns <- mhe_conns(datasources)
  if (!rlang::is_bool(progress)) {
    mhe_abort("{.arg progress} must be {.code TRUE} or {.code FALSE}.", class = "input")
  }
  dp <- list(epsilon = mhe_dp_epsilon_arg(epsilon), bounds = bounds, norm = norm,
             intercept_scale = intercept_scale)
  # Every round of one fit runs over the same sites: a dropout restarts the fit.
  fit <- mhe_run(conns, function(run, call) {
    mhe_glm_run(formula, family, data, weights, offset, maxit, run = run,
                plaintext = FALSE, progress = progress, call = call, dp = dp)
  })
  fit$call <- match.call()
  fit
}

# The fit, with encrypted aggregates or (plaintext = TRUE, for the benchmark)
# with each site's aggregates in the clear through mhePlainGLMDS(). Inside a
# statistic's run, `run` is its context (`mhe_run()`), else `datasources`.
mhe_glm_run <- function(formula, family = "gaussian", data = "D", weights = NULL,
                        offset = NULL, maxit = 25, datasources = NULL,
                        plaintext = FALSE, progress = FALSE, call = rlang::caller_env(),
                        run = NULL, dp = list()) {
  conns <- if (is.null(run)) mhe_conns(datasources, call = call) else run$conns
  spec <- mhe_glm_client_spec(formula, family, data, weights, offset, maxit, call)
  found <- mhe_aggregate(conns, call("mheGLMLevelsDS", spec$b64, spec$data), call = call)
  spec <- c(spec, mhe_glm_agree_levels(found, call))
  if (!plaintext && any(vapply(found, function(f) isTRUE(f$dp), TRUE))) {
    # a site has differential privacy on: the fixed plan of DP rounds
    mhe_glm_check_levels(spec, call)
    spec[c("columns", "intercept")] <- mhe_glm_client_columns(spec)
    pool <- function(args) mhe_query(run %||% conns, "mheGLMDS", args, call = call)
    if (progress) cli::cli_inform(c(i = "Differential privacy: a fixed plan of noisy rounds."))
    fit <- mhe_glm_dp_fit(spec, pool, dp$bounds, dp$epsilon, dp$norm, call,
                          kappa = dp$intercept_scale %||% 1)
    return(mhe_glm_dp_result(spec, fit, names(conns)))
  }
  pool <- if (plaintext) {
    function(args) {
      values <- mhe_aggregate(conns, as.call(c(list(as.name("mhePlainGLMDS")), args)), call = call)
      Reduce(`+`, values)
    }
  } else {
    function(args) mhe_query(run %||% conns, "mheGLMDS", args, call = call)
  }
  repeat {
    mhe_glm_check_levels(spec, call)
    spec[c("columns", "intercept")] <- mhe_glm_client_columns(spec)
    first <- mhe_glm_round(spec, pool, "init")
    used <- split(first$counts > 0, rep(factor(names(spec$levels), names(spec$levels)), lengths(spec$levels)))
    if (all(unlist(used))) break
    spec$levels <- Map(function(l, u) l[u], spec$levels, used[names(spec$levels)])
  }
  wtdmu <- if (spec$intercept && is.null(spec$offset)) first$sum_wy / first$sum_w
  fit <- mhe_glm_irls(first, function(beta) mhe_glm_round(spec, pool, "step", beta = beta, wtdmu = wtdmu),
                  spec$maxit, call, progress = progress)
  mhe_glm_warnings(spec, fit, call)
  null_deviance <- if (spec$intercept && !is.null(spec$offset)) {
    if (progress) cli::cli_inform(c(i = "Null deviance: intercept-only fit with the offset."))
    mhe_glm_null_deviance(spec, pool, fit$beta, call, progress)
  } else {
    fit$last$nulldev
  }
  mhe_glm_result(spec, fit, null_deviance, names(conns))
}

# One pooled round: the arguments of mheGLMDS() (or mhePlainGLMDS()), NULLs
# left out; the pooled vector unpacked.
mhe_glm_round <- function(spec, pool, round, model = "full", beta = NULL, start = NULL,
                      wtdmu = NULL) {
  hex <- function(x) if (!is.null(x)) mhe_dbl_encode(x)
  args <- list(
    formula = spec$b64, family = spec$family, data = spec$data, weights = spec$weights,
    offset = spec$offset, levels = mhe_glm_levels_encode(spec$levels), round = round,
    model = model, beta = hex(beta), start = hex(start), wtdmu = hex(wtdmu)
  )
  args <- args[!vapply(args, is.null, TRUE)]
  mhe_glm_unpack(pool(args), if (model == "null") 1L else length(spec$columns),
                 cells = sum(lengths(spec$levels)))
}

# glm() fits the intercept-only model with the offset for the null deviance,
# from the full model's fitted values.
mhe_glm_null_deviance <- function(spec, pool, beta, call, progress = FALSE) {
  first <- mhe_glm_round(spec, pool, "init", model = "null", start = beta)
  fit <- mhe_glm_irls(first, function(b) mhe_glm_round(spec, pool, "step", model = "null", beta = b),
                  spec$maxit, call, progress = progress)
  if (!fit$converged) {
    cli::cli_warn("Fitting to calculate the null deviance did not converge: increase {.arg maxit}?",
                  call = call)
  }
  fit$last$dev
}

mhe_glm_warnings <- function(spec, fit, call) {
  if (spec$family == "binomial" && fit$last$boundary > 0) {
    mhe_abort(c(
      "The binomial fit separates the outcome: fitted probabilities are numerically 0 or 1.",
      i = "The estimates diverge (perfect or quasi-complete separation); {.fn glm} would warn and return them.",
      i = "Remove or merge the covariates or levels that predict the outcome perfectly."
    ), class = "separation", call = call)
  }
  if (!fit$converged) {
    cli::cli_warn("The IRLS algorithm did not converge in {spec$maxit} iteration{?s}.", call = call)
  }
  if (fit$boundary) {
    cli::cli_warn("The IRLS algorithm stopped at a boundary value.", call = call)
  }
  if (spec$family == "poisson" && fit$last$boundary > 0) {
    cli::cli_warn("Fitted rates numerically 0 occurred.", call = call)
  }
}

mhe_glm_result <- function(spec, fit, null_deviance, sites) {
  last <- fit$last
  solve <- fit$solve
  columns <- spec$columns
  kept <- !solve$aliased
  coef <- fit$beta[kept]
  rank <- solve$rank
  n_ok <- mhe_count(last$n_ok)
  df_residual <- n_ok - rank
  gaussian <- spec$family == "gaussian"
  dispersion <- if (!gaussian) 1 else if (df_residual > 0) last$dev / df_residual else NaN
  cov <- solve$cov[kept, kept, drop = FALSE]
  dimnames(cov) <- list(columns[kept], columns[kept])
  se <- sqrt(diag(cov) * dispersion)
  stat <- coef / se
  p <- if (gaussian) 2 * stats::pt(-abs(stat), df_residual) else 2 * stats::pnorm(-abs(stat))
  table <- cbind(coef, se, stat, p)
  dimnames(table) <- list(columns[kept], c(
    "Estimate", "Std. Error",
    if (gaussian) c("t value", "Pr(>|t|)") else c("z value", "Pr(>|z|)")
  ))
  structure(list(
    coefficients = table, deviance = last$dev, null.deviance = null_deviance,
    df.residual = df_residual, df.null = n_ok - as.integer(spec$intercept),
    aic = mhe_glm_aic(spec$family, last, rank), iter = fit$iter, n = n_ok,
    family = spec$family, dispersion = dispersion, cov.unscaled = cov,
    aliased = stats::setNames(solve$aliased, columns), rank = rank,
    converged = fit$converged, formula = spec$parsed$text, data = spec$data,
    weights = spec$weights, offset = spec$offset, sites = sites
  ), class = "mheGLM")
}

# The family's aic() + 2 * rank, as glm.fit(). Gaussian:
# nobs * (log(2 * pi * dev / nobs) + 1) + 2 - sum(log(weights)), infinite when
# a weight is 0 (as in glm()).
mhe_glm_aic <- function(family, last, rank) {
  if (family != "gaussian") {
    return(last$aic + 2 * rank)
  }
  nobs <- last$nobs
  if (nobs > last$n_ok) {
    return(Inf)
  }
  nobs * (log(last$dev / nobs * 2 * pi) + 1) + 2 - last$aic + 2 * rank
}

#' @export
print.mheGLM <- function(x, digits = max(3L, getOption("digits") - 3L),
                         signif.stars = getOption("show.signif.stars"), ...) {
  mhe_glm_print(x, digits = digits, signif.stars = signif.stars, ...)
}

# The body of print.mheGLM() and print.summary.mheGLM().
mhe_glm_print <- function(x, digits, signif.stars, ...) {
  # print methods print: cat() as in print.summary.glm()
  if (!is.null(x$call)) {
    cat("\nCall:\n", paste(deparse(x$call), collapse = "\n"), "\n", sep = "")
  }
  cat("\nEncrypted fit: ", length(x$sites), " sites (", paste(x$sites, collapse = ", "),
      "), ", x$n, " observations.\n", sep = "")
  singular <- sum(x$aliased)
  cat(if (singular) paste0("\nCoefficients: (", singular, " not defined because of singularities)\n")
      else "\nCoefficients:\n")
  coefs <- matrix(NA_real_, length(x$aliased), ncol(x$coefficients),
                  dimnames = list(names(x$aliased), colnames(x$coefficients)))
  coefs[!x$aliased, ] <- x$coefficients
  stats::printCoefmat(coefs, digits = digits, signif.stars = signif.stars, na.print = "NA", ...)
  if (!is.null(x$dp)) {
    cat("\n(Dispersion parameter for ", x$family, " family taken to be ", format(x$dispersion), ")\n\n",
        "Deviance and AIC: not released under differential privacy.\n",
        paste(mhe_glm_format_dp(x$dp, x$iter), collapse = "\n"), "\n\n", sep = "")
    return(invisible(x))
  }
  deviances <- format(c(x$null.deviance, x$deviance), digits = max(5L, digits + 1L))
  cat("\n(Dispersion parameter for ", x$family, " family taken to be ", format(x$dispersion), ")\n\n",
      paste0(format(c("Null", "Residual"), justify = "right"), " deviance: ", deviances, "  on ",
             format(c(x$df.null, x$df.residual)), "  degrees of freedom\n"),
      "AIC: ", format(x$aic, digits = max(4L, digits + 1L)), "\n\n",
      "Number of Fisher Scoring iterations: ", x$iter, "\n", sep = "")
  if (!isTRUE(x$converged)) cat("The fit did not converge.\n")
  cat("\n")
  invisible(x)
}

#' @rawNamespace S3method(stats::coef, mheGLM)
coef.mheGLM <- function(object, ...) {
  coef <- stats::setNames(rep(NA_real_, length(object$aliased)), names(object$aliased))
  coef[!object$aliased] <- object$coefficients[, "Estimate"]
  coef
}

#' @rawNamespace S3method(stats::vcov, mheGLM)
vcov.mheGLM <- function(object, ...) {
  object$dispersion * object$cov.unscaled
}

#' Confidence intervals, summary and ratios of an encrypted GLM
#'
#' `confint()` gives Wald intervals from the pooled coefficients and their
#' standard errors: \eqn{\hat\beta \pm q \cdot SE}, with `q` the normal
#' quantile for binomial and poisson (as [stats::confint.default()] on the
#' pooled `glm()`) and the t quantile with `df.residual` degrees of freedom
#' for gaussian (as [stats::confint.lm()]: the dispersion is estimated).
#' Profile-likelihood intervals (`confint()` on a `glm` object) would need the
#' pooled likelihood at many points, a fit each; they are not offered.
#'
#' `summary()` returns the fit with the scaled covariance matrix and, for
#' binomial and poisson, the ratios of [mheGLMratios()]; it prints like the
#' fit, followed by the ratios.
#'
#' @param object A result of [ds.mheGLM()].
#' @param parm Coefficients: names or indices; all by default.
#' @param level Confidence level.
#' @param ... Unused.
#' @returns `confint()`: a matrix with one row per coefficient (`NA` for an
#'   aliased one) and columns for the lower and upper limits, labelled in
#'   percent as in [stats::confint()]. `summary()`: an object of class
#'   `summary.mheGLM`, the fit with `cov.scaled` and `ratios` (`NULL` for
#'   gaussian).
#' @seealso [mheGLMratios()] for odds ratios and rate ratios.
#' @rawNamespace S3method(stats::confint, mheGLM)
#' @name mheGLM-methods
#' @examples
#' \dontrun{
#' fit <- ds.mheGLM(DIS_DIAB ~ PM_BMI_CONTINUOUS, family = "binomial")
#' confint(fit)
#' summary(fit)
#' }
confint.mheGLM <- function(object, parm, level = 0.95, ...) {
  ok <- is.numeric(level) && length(level) == 1L && !is.na(level) && level > 0 && level < 1
  if (!ok) {
    mhe_abort("{.arg level} must be a number between 0 and 1.", class = "input")
  }
  est <- stats::coef(object)
  terms <- names(est)
  se <- stats::setNames(rep(NA_real_, length(terms)), terms)
  se[!object$aliased] <- object$coefficients[, "Std. Error"]
  if (missing(parm)) {
    parm <- terms
  } else if (is.numeric(parm)) {
    parm <- terms[parm]
  }
  if (!is.character(parm) || anyNA(parm) || !all(parm %in% terms)) {
    mhe_abort("{.arg parm} must name or number coefficients of the model.", class = "input")
  }
  probs <- c((1 - level) / 2, (1 + level) / 2)
  q <- if (object$family == "gaussian") {
    stats::qt(probs, object$df.residual)
  } else {
    stats::qnorm(probs)
  }
  ci <- est[parm] + outer(se[parm], q)
  dimnames(ci) <- list(parm, paste0(trimws(formatC(100 * probs, format = "fg", digits = 3)), " %"))
  ci
}

#' @rdname mheGLM-methods
#' @export
summary.mheGLM <- function(object, ...) {
  out <- unclass(object)
  out$cov.scaled <- vcov.mheGLM(object)
  out["ratios"] <- list(if (object$family != "gaussian") mheGLMratios(object))
  structure(out, class = "summary.mheGLM")
}

#' @export
print.summary.mheGLM <- function(x, digits = max(3L, getOption("digits") - 3L),
                                 signif.stars = getOption("show.signif.stars"), ...) {
  mhe_glm_print(x, digits = digits, signif.stars = signif.stars, ...)
  if (!is.null(x$ratios)) {
    what <- colnames(x$ratios)[1L]
    cat(what, "s with Wald ", attr(x$ratios, "level") * 100, "% intervals:\n", sep = "")
    print(x$ratios[, 1:3, drop = FALSE], digits = digits)
    cat("\n")
  }
  invisible(x)
}
