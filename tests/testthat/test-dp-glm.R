# ds.mheGLM() under differential privacy (issue 14; rust/mhe/DP.md, section
# 10): a fixed plan of noisy rounds on columns mapped to [-1, 1] by the
# analyst's bounds, every round charged, standard errors with the noise.

# Three sites of 1500 rows: two numeric covariates within [-3, 3], a
# two-level factor, a binary and a continuous response; deterministic.
dp_glm_data <- function() {
  old <- .Random.seed_save()
  on.exit(.Random.seed_restore(old))
  set.seed(14)
  data <- lapply(1:3, function(i) {
    n <- 1500L
    x1 <- pmin(pmax(rnorm(n), -3), 3)
    x2 <- pmin(pmax(rnorm(n), -3), 3)
    g <- factor(sample(c("a", "b"), n, TRUE), levels = c("a", "b"))
    y <- rbinom(n, 1L, stats::plogis(-0.3 + 0.8 * x1 - 0.5 * x2 + 0.6 * (g == "b")))
    z <- pmin(pmax(2 + x1 - 0.5 * x2 + rnorm(n), -10), 10)
    data.frame(x1, x2, g, y, z)
  })
  names(data) <- c("sim1", "sim2", "sim3")
  data
}

# A federation whose admins turned DP on: total `epsilon`, per query `query`.
dp_glm_federation <- function(epsilon = "1000", query = "10") {
  dir <- tempfile("dp-glm-audit-")
  dir.create(dir)
  data <- dp_glm_data()
  opts <- lapply(names(data), function(site) {
    list(mhe.dp.epsilon = epsilon, mhe.dp.query.epsilon = query, mhe.dp.delta = "1e-6",
         mhe.audit.file = file.path(dir, paste0(site, ".log")))
  })
  names(opts) <- names(data)
  fresh_federation(data, options = opts)
}

dp_glm_bounds <- list(x1 = c(-3, 3), x2 = c(-3, 3), z = c(-10, 10))

test_that("with differential privacy off a GLM is exact and carries no DP facts", {
  conns <- fresh_federation(dp_glm_data())
  on.exit(DSI::datashield.logout(conns))
  fit <- ds.mheGLM(y ~ x1 + x2 + g, family = "binomial", datasources = conns,
                   bounds = dp_glm_bounds, progress = FALSE)
  ref <- stats::glm(y ~ x1 + x2 + g, stats::binomial(), pooled(conns))
  expect_null(fit$dp)
  expect_rel_equal(stats::coef(fit), stats::coef(ref), tolerance = 1e-7)
  expect_rel_equal(unname(fit$coefficients[, "Std. Error"]),
                   unname(sqrt(diag(stats::vcov(ref)))), tolerance = 1e-6)
  expect_false(any(grepl("Differential privacy", utils::capture.output(print(fit)))))
})

test_that("a binomial and a gaussian GLM under DP differ from glm() by the noise they report", {
  conns <- dp_glm_federation()
  on.exit(DSI::datashield.logout(conns))
  all <- pooled(conns)
  ref_b <- stats::coef(stats::glm(y ~ x1 + x2 + g, stats::binomial(), all))
  ref_g <- stats::coef(stats::glm(z ~ x1 + x2 + g, stats::gaussian(), all))
  z <- c()
  for (i in 1:6) {
    fit <- ds.mheGLM(y ~ x1 + x2 + g, family = "binomial", datasources = conns,
                     bounds = dp_glm_bounds, progress = FALSE)
    z <- c(z, (stats::coef(fit) - ref_b) / fit$dp.noise)
    fit_g <- ds.mheGLM(z ~ x1 + x2 + g, datasources = conns, bounds = dp_glm_bounds,
                       progress = FALSE)
    z <- c(z, (stats::coef(fit_g) - ref_g) / fit_g$dp.noise)
  }
  # each fit: 4 rounds (binomial) or 1 (gaussian), charged at every site
  expect_setequal(unique(fit$dp$site), c("sim1", "sim2", "sim3"))
  expect_identical(nrow(fit$dp), 12L)
  expect_identical(nrow(fit_g$dp), 3L)
  # the fit's rounds add up to the query's epsilon (10) at every site
  rho <- tapply(fit$dp$rho, fit$dp$site, sum)
  eps <- vapply(rho, dsMHE:::mhe_glm_dp_epsilon_of_rho, 0, delta = 1e-6)
  expect_true(all(eps <= 10 & eps > 10 * (1 - 1e-6)))
  # not exact, and the errors follow the reported noise: sum(z^2) within the
  # chi-square(48) quantiles 5e-4 and 1 - 5e-4 (at epsilon 10 the second-order
  # terms the reported sd leaves out are far below the noise)
  expect_true(all(z != 0))
  expect_gt(sum(z^2), stats::qchisq(5e-4, length(z)))
  expect_lt(sum(z^2), stats::qchisq(1 - 5e-4, length(z)))
  # the standard errors include the noise: larger than the noise alone
  se <- fit$coefficients[, "Std. Error"]
  expect_true(all(se > fit$dp.noise))
  out <- utils::capture.output(print(fit))
  expect_true(any(grepl("Differential privacy: discrete Gaussian", out, fixed = TRUE)))
  expect_true(any(grepl("sim2: epsilon 10 (delta 1e-06) over 4 rounds; budget left: rho",
                        out, fixed = TRUE)))
  expect_true(any(grepl("Deviance and AIC: not released under differential privacy", out)))
  # the methods work on a DP fit: vcov includes the noise, Wald intervals from it
  expect_equal(sqrt(diag(stats::vcov(fit))), se, tolerance = 1e-12)
  ci <- stats::confint(fit)
  expect_equal(unname(ci[, 2] - ci[, 1]), unname(2 * stats::qnorm(0.975) * se), tolerance = 1e-12)
  expect_true(any(grepl("Odds ratio", utils::capture.output(print(summary(fit))))))
})

test_that("an interaction under DP (an ill-conditioned design) is not biased beyond its noise", {
  conns <- dp_glm_federation()
  on.exit(DSI::datashield.logout(conns))
  ref <- stats::coef(stats::glm(y ~ x1 * g + x2, stats::binomial(), pooled(conns)))
  z <- sapply(1:8, function(i) {
    fit <- ds.mheGLM(y ~ x1 * g + x2, family = "binomial", datasources = conns,
                     bounds = dp_glm_bounds, progress = FALSE)
    (stats::coef(fit) - ref) / fit$dp.noise
  })
  # per coefficient, the mean of 8 z-scores: sd 0.35 without bias; below 1.41
  # (4 sds). A floor on the noisy matrix that damps the steps in the
  # ill-conditioned direction left x1 and x1:gb off by 1.7 and 2.5 here.
  expect_true(all(z != 0))
  expect_true(all(abs(rowMeans(z)) < 4 / sqrt(8)))
})

test_that("a budget that runs out in the middle of a fit refuses it, and no fit is returned", {
  # a budget of 1.5 fits at epsilon 1 (in rho): the second fit's last round,
  # 80% of a fit, is refused after three rounds (20%)
  rho1 <- dsMHE:::mhe_glm_dp_rho_for_epsilon(1, 1e-6)
  total <- dsMHE:::mhe_glm_dp_epsilon_of_rho(1.5 * rho1, 1e-6)
  conns <- dp_glm_federation(epsilon = format(total, digits = 15), query = "1")
  on.exit(DSI::datashield.logout(conns))
  fit <- ds.mheGLM(y ~ x1 + x2, family = "binomial", datasources = conns,
                   bounds = dp_glm_bounds, progress = FALSE)
  expect_identical(nrow(fit$dp), 12L)
  second <- NULL
  err <- expect_error(
    second <- ds.mheGLM(y ~ x1 + x2, family = "binomial", datasources = conns,
                        bounds = dp_glm_bounds, progress = FALSE),
    class = "dsMHE_error_refused_budget"
  )
  expect_null(second)
  expect_match(conditionMessage(err), "privacy budget exceeded", fixed = TRUE)
  # the three rounds that went out are charged: 1.2 fits of the 1.5
  audit <- readLines(site_audit_file(conns, "sim1"))
  budget <- regmatches(audit, regexpr("spent=[0-9]+", audit))
  expect_length(budget, 7L)
})

test_that("a GLM under DP needs bounds for its numeric variables and takes no transforms", {
  conns <- dp_glm_federation()
  on.exit(DSI::datashield.logout(conns))
  expect_error(
    ds.mheGLM(y ~ x1 + x2, family = "binomial", datasources = conns,
              bounds = list(x1 = c(-3, 3)), progress = FALSE),
    "No bounds for `D\\$x2`", class = "dsMHE_error_input"
  )
  expect_error(
    ds.mheGLM(y ~ x1 + log(x2), family = "binomial", datasources = conns,
              bounds = dp_glm_bounds, progress = FALSE),
    "not transforms", class = "dsMHE_error_input"
  )
  # a site refuses the exact rounds under DP, before anything is encrypted
  expect_error(
    dsMHE:::mhe_query(conns, "mheGLMDS", list(
      formula = dsMHE:::rs_call(dsMHE:::rs_b64_encode(charToRaw("y ~ x1"))),
      family = "binomial", data = "D",
      round = "init"
    )),
    class = "dsMHE_error_refused_dp_unsupported"
  )
})

test_that("a poisson GLM under DP clips the response to its bounds and lands within its reported error", {
  data <- dp_glm_data()
  old <- .Random.seed_save()
  set.seed(5)
  for (i in seq_along(data)) data[[i]]$k <- stats::rpois(1500, exp(0.5 + 0.3 * data[[i]]$x1))
  .Random.seed_restore(old)
  dir <- tempfile("dp-glm-audit-")
  dir.create(dir)
  opts <- lapply(names(data), function(site) {
    list(mhe.dp.epsilon = "1000", mhe.dp.query.epsilon = "10",
         mhe.audit.file = file.path(dir, paste0(site, ".log")))
  })
  names(opts) <- names(data)
  conns <- fresh_federation(data, options = opts)
  on.exit(DSI::datashield.logout(conns))
  ref <- stats::glm(k ~ x1 + x2, stats::poisson(), pooled(conns))
  fit <- ds.mheGLM(k ~ x1 + x2, family = "poisson", datasources = conns,
                   bounds = list(x1 = c(-3, 3), x2 = c(-3, 3), k = c(0, 12)), progress = FALSE)
  se <- fit$coefficients[, "Std. Error"]
  expect_true(all(stats::coef(fit) != stats::coef(ref)))
  expect_true(all(abs(stats::coef(fit) - stats::coef(ref)) < 4 * se))
  expect_true(all(se > fit$dp.noise))
  expect_identical(nrow(fit$dp), 12L)
})

# Round 1 of a poisson fit without offset, computed exactly: at g = 0 every
# rate is m0, A = m0 U'WU and s = U'W(y - m0).
dp_glm_round1 <- function(U, y, m0, w = rep(1, nrow(U))) {
  list(A = m0 * crossprod(U, U * w), s = drop(crossprod(U, w * (y - m0))))
}

test_that("the poisson start is log-linear: a constant rate exactly, glm()'s slopes closely", {
  set.seed(3)
  x <- runif(400, -1, 1)
  kappa <- 0.5
  U <- cbind(kappa, x, runif(400, -1, 1))
  # a constant response: the start is the exact fit, log(2.5) / kappa, slopes 0
  r <- dp_glm_round1(U, rep(2.5, 400), m0 = 1)
  expect_equal(unname(dsMHE:::mhe_glm_dp_start(r$A, r$s, kappa, 1)), c(log(2.5) / kappa, 0, 0))
  # with row weights and a rate bound M below 1 (m0 = M): the same
  r <- dp_glm_round1(U, rep(0.3, 400), m0 = 0.5, w = runif(400, 0.2, 1))
  expect_equal(unname(dsMHE:::mhe_glm_dp_start(r$A, r$s, kappa, 0.5)), c(log(0.3) / kappa, 0, 0))
  # poisson data: the start is near glm()'s coefficients, the Newton step from
  # 0 (what the plan took before) is not
  y <- rpois(400, exp(0.5 + 0.6 * x))
  ref <- stats::glm.fit(U, y, family = stats::poisson())$coefficients
  r <- dp_glm_round1(U, y, m0 = 1)
  start <- dsMHE:::mhe_glm_dp_start(r$A, r$s, kappa, 1)
  # (in the coefficients' units: the intercept column is kappa)
  expect_lt(max(abs((start - ref) * c(kappa, 1, 1))), 0.06)
  expect_gt(max(abs((solve(r$A, r$s) - ref) * c(kappa, 1, 1))), 0.3)
  # a noisy round whose line has no positive mean rate: no start (Newton)
  expect_null(dsMHE:::mhe_glm_dp_start(r$A, -2 * r$A[, 1L] / kappa, kappa, 1))
})

# A federation with a budget so large that the noise is negligible: the
# fit's arithmetic, not its privacy, is under test.
# (epsilon 1e12: the coefficients' noise sd is about 3e-8)
dp_glm_exact_federation <- function() dp_glm_federation(epsilon = "1e13", query = "1e12")

# The weights of DP.md 10.2, from the public map only: u = (kappa, x1 / 3,
# x2 / 3, (gb - 0.5) / 0.5) for the bounds [-3, 3] and the dummy's [0, 1].
dp_glm_omega <- function(data, kappa, norm) {
  u2 <- kappa^2 + (data$x1 / 3)^2 + (data$x2 / 3)^2 + 1
  pmin(1, norm / u2)
}

test_that("norm weights the rows: the DP fit is glm(weights = omega), intercept_scale mapped back", {
  conns <- dp_glm_exact_federation()
  on.exit(DSI::datashield.logout(conns))
  all <- pooled(conns)
  omega <- dp_glm_omega(all, kappa = 0.5, norm = 1.6)
  # a real weighting: a fifth of the rows, with weights down to 0.6
  expect_gt(mean(omega < 1), 0.15)
  expect_lt(min(omega), 0.7)
  ref_b <- suppressWarnings(stats::glm(y ~ x1 + x2 + g, stats::binomial(), all, weights = omega))
  fit <- ds.mheGLM(y ~ x1 + x2 + g, family = "binomial", datasources = conns,
                   bounds = dp_glm_bounds, norm = 1.6, intercept_scale = 0.5, progress = FALSE)
  expect_equal(stats::coef(fit), stats::coef(ref_b), tolerance = 1e-6)
  # any number travels (as the 15 digits the sites parse)
  omega_pi <- dp_glm_omega(all, kappa = 1 / 3, norm = 1 + pi / 10)
  ref_pi <- suppressWarnings(stats::glm(y ~ x1 + x2 + g, stats::binomial(), all, weights = omega_pi))
  fit_pi <- ds.mheGLM(y ~ x1 + x2 + g, family = "binomial", datasources = conns,
                      bounds = dp_glm_bounds, norm = 1 + pi / 10, intercept_scale = 1 / 3,
                      progress = FALSE)
  expect_equal(stats::coef(fit_pi), stats::coef(ref_pi), tolerance = 1e-6)
  # the unweighted fit is measurably different: the test can tell them apart
  plain <- stats::coef(stats::glm(y ~ x1 + x2 + g, stats::binomial(), all))
  expect_gt(max(abs(stats::coef(fit) - plain)), 100 * 1e-6 * max(abs(plain)))
  # standard errors from the weighted information (glm's with these weights),
  # taken at the third round's coefficients (the last round releases the
  # score only): close, not equal
  expect_equal(unname(fit$coefficients[, "Std. Error"]),
               unname(sqrt(diag(stats::vcov(ref_b)))), tolerance = 1e-2)
  # gaussian: one exact round, the weighted least squares and their dispersion
  ref_g <- stats::glm(z ~ x1 + x2 + g, stats::gaussian(), all, weights = omega)
  fit_g <- ds.mheGLM(z ~ x1 + x2 + g, datasources = conns, bounds = dp_glm_bounds,
                     norm = 1.6, intercept_scale = 0.5, progress = FALSE)
  expect_equal(stats::coef(fit_g), stats::coef(ref_g), tolerance = 1e-6)
  expect_equal(unname(fit_g$coefficients[, "Std. Error"]),
               unname(sqrt(diag(stats::vcov(ref_g)))), tolerance = 1e-5)
})

test_that("intercept_scale alone reparametrises exactly: the DP fit is glm()'s", {
  conns <- dp_glm_exact_federation()
  on.exit(DSI::datashield.logout(conns))
  all <- pooled(conns)
  ref <- stats::glm(y ~ x1 + x2 + g, stats::binomial(), all)
  # 1/3 travels as the 15 digits the sites parse, and maps back with them
  for (kappa in c(0.25, 1 / 3, 1)) {
    fit <- ds.mheGLM(y ~ x1 + x2 + g, family = "binomial", datasources = conns,
                     bounds = dp_glm_bounds, intercept_scale = kappa, progress = FALSE)
    expect_equal(stats::coef(fit), stats::coef(ref), tolerance = 1e-6)
    expect_equal(unname(fit$coefficients[, "Std. Error"]),
                 unname(sqrt(diag(stats::vcov(ref)))), tolerance = 1e-2)
  }
  ref_g <- stats::glm(z ~ x1 + x2 + g, stats::gaussian(), all)
  fit_g <- ds.mheGLM(z ~ x1 + x2 + g, datasources = conns, bounds = dp_glm_bounds,
                     intercept_scale = 0.25, progress = FALSE)
  expect_equal(stats::coef(fit_g), stats::coef(ref_g), tolerance = 1e-6)
})

# The arguments of one "dp" round of y ~ x1 + x2, as the client sends them.
dp_glm_round_args <- function(...) {
  c(list(
    formula = dsMHE:::rs_call(dsMHE:::rs_b64_encode(charToRaw("y ~ x1 + x2"))),
    family = "binomial", data = "D", round = "dp", model = "full",
    beta = dsMHE:::mhe_dbl_encode(numeric(3)), bounds = "D$x1:-3:3;D$x2:-3:3",
    epsilon = 1, share = 0.05, scale = 1
  ), list(...))
}

test_that("bad intercept_scale and norm values are refused by the client and by the sites", {
  conns <- dp_glm_federation()
  on.exit(DSI::datashield.logout(conns))
  fit <- function(...) {
    ds.mheGLM(y ~ x1 + x2, family = "binomial", datasources = conns,
              bounds = dp_glm_bounds, progress = FALSE, ...)
  }
  for (bad in list(0, -0.5, 1.5, NA_real_, "0.5", c(0.5, 0.5), Inf)) {
    expect_error(fit(intercept_scale = bad), "`intercept_scale` must be a number in (0, 1]",
                 fixed = TRUE, class = "dsMHE_error_input")
  }
  expect_error(fit(norm = 1), "above intercept_scale^2 (1)", fixed = TRUE,
               class = "dsMHE_error_input")
  expect_error(fit(norm = 0.0625, intercept_scale = 0.25), "above intercept_scale^2 (0.0625)",
               fixed = TRUE, class = "dsMHE_error_input")
  for (bad in list(-1, NA_real_, "2", Inf, 1e7)) {
    expect_error(fit(norm = bad), "`norm` must be NULL or a number", class = "dsMHE_error_input")
  }
  # a site checks them whatever the client sent, before anything leaves
  query <- function(...) dsMHE:::mhe_query(conns, "mheGLMDS", dp_glm_round_args(...))
  # (Opal's parser takes no negative numbers: they are calls)
  for (bad in list(0, 1.5, 2)) {
    expect_error(query(intercept_scale = bad), "`intercept_scale` must be a number in (0, 1]",
                 fixed = TRUE, class = "dsMHE_error")
  }
  expect_error(query(norm = 0.2, intercept_scale = 0.5), "`norm` must be above intercept_scale^2",
               fixed = TRUE, class = "dsMHE_error")
  expect_error(query(norm = 0), "`norm` must be a number in (0, ", fixed = TRUE,
               class = "dsMHE_error")
  # the same round with good values goes through
  expect_length(query(norm = 0.3, intercept_scale = 0.5), 3 * 4 / 2 + 3 + 2)
})

test_that("a weighted round's sensitivity is DP.md 10.2's and bounds every row's change", {
  old <- .Random.seed_save()
  on.exit(.Random.seed_restore(old))
  set.seed(8)
  n <- 60L
  d <- data.frame(x1 = stats::runif(n, -3, 3), x2 = stats::runif(n, -3, 3))
  # the corners: the longest rows the bounds allow
  d[1:4, ] <- cbind(c(-3, 3, 3, -3), c(3, 3, -3, -3))
  d$y <- stats::rbinom(n, 1L, 0.5)
  d$z <- stats::runif(n, -10, 10)
  X <- stats::model.matrix(~ x1 + x2, d)
  ranges <- list(m = c(0, 0, 0), r = c(1, 3, 3))
  beta <- c(0.1, -0.4, 0.3)
  cases <- list(list(kappa = 1, norm = NULL), list(kappa = 0.5, norm = 1.2),
                list(kappa = 0.25, norm = 5), list(kappa = 0.25, norm = 0.1))
  for (family in c("binomial", "gaussian")) for (cs in cases) for (scale in c(1, 0)) {
    round <- function(rows) {
      m <- list(X = X[rows, , drop = FALSE], o = numeric(length(rows)),
                y = if (family == "binomial") d$y[rows] else d$z[rows],
                family = get(family, asNamespace("stats"))())
      dsMHE:::srv_glm_dp_values(m, family, ranges, beta, scale, cs$norm,
                                response = if (family == "gaussian") c(-10, 10),
                                intercept = TRUE, kappa = cs$kappa)
    }
    full <- round(seq_len(n))
    C2 <- min(if (is.null(cs$norm)) Inf else cs$norm, cs$kappa^2 + 2)
    w_max <- if (family == "binomial") 1 / 4 else 1
    gauss <- as.numeric(family == "gaussian")
    expect_equal(full$sensitivity$l2,
                 sqrt(scale^2 * w_max^2 * (C2^2 + C2) / 2 + C2 + gauss + (scale > 0)))
    # removing a row changes the release by at most the sensitivity
    change <- vapply(seq_len(n), function(i) {
      diff <- as.numeric(full$values) - as.numeric(round(seq_len(n)[-i])$values)
      c(sqrt(sum(diff^2)), sum(abs(diff)))
    }, numeric(2))
    expect_true(all(change[1, ] <= full$sensitivity$l2 * (1 + 1e-12)))
    expect_true(all(change[2, ] <= full$sensitivity$l1 * (1 + 1e-12)))
  }
})

test_that("the sites calibrate each round's noise to the weighted sensitivity", {
  conns <- dp_glm_federation()
  on.exit(DSI::datashield.logout(conns))
  fit <- ds.mheGLM(y ~ x1 + x2 + g, family = "binomial", datasources = conns,
                   bounds = dp_glm_bounds, norm = 1.6, intercept_scale = 0.5, progress = FALSE)
  dp <- fit$dp
  expect_identical(nrow(dp), 12L)
  # C^2 = min(1.6, 0.5^2 + 3) = 1.6; rounds 1-3 release the matrix and n,
  # the last the score only; rho = Delta^2 / (2 h sigma^2) (DP.md 4.3)
  C2 <- 1.6
  delta2 <- c(rep((C2^2 + C2) / 2 / 16 + C2 + 1, 3), C2)
  expect_equal(2 * dp$honest * dp$sigma^2 * dp$rho, rep(delta2, each = 3), tolerance = 1e-6)
})
