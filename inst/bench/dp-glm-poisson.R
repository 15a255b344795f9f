# Poisson GLM under DP (DP.md 10.7): the test's data (3 sites x 1500 rows,
# k ~ Poisson(exp(0.5 + 0.3 x1)), x1, x2 in [-3, 3], k in [0, 12], a query
# epsilon of 10, delta 1e-6, 3-of-3 shares), the plan's rounds computed on the
# pooled rows with continuous Gaussian noise of the sites' pooled variance
# (as inst/bench/dp-glm-design.R), against glm() on the same rows.
#
# R_LIBS=.rlib Rscript inst/bench/dp-glm-poisson.R [draws]
#
# Per variant, over the draws: max_j |z_j| (z = (fit - glm) / reported SE):
# median, 90th and 99th percentile, largest; the share of |z_j| > 4 per
# coefficient; the sd of z_j (below 1 by design: fit - glm has no sampling
# error, the SE has); the rms error of the iterate after rounds 1 and 3 (in u
# units, against glm()'s); the reported SE over glm()'s; the rms of (fit -
# glm) / (the reported noise sd), 1 when the noise term is honest.
# Variants: "newton" (the plan from g = 0, the package before 10.7), "oracle"
# (as newton, but the last step and its SE use the exact matrix at the
# third iterate: isolates the last step's matrix), "loglin" (the package:
# round 1 starts log-linear, mhe_glm_dp_start()); with that start, "early"
# (shares 0.1/0.1/0.1/0.7) and "five" (five rounds, 0.04 x 4 / 0.84).

args <- commandArgs(TRUE)
draws <- if (length(args)) as.integer(args[1]) else 1000L
start_fn <- dsMHE:::mhe_glm_dp_start
matrix_fn <- dsMHE:::mhe_glm_dp_matrix

make_data <- function() {
  set.seed(14)
  d <- lapply(1:3, function(i) {
    n <- 1500
    x1 <- pmin(pmax(rnorm(n), -3), 3)
    x2 <- pmin(pmax(rnorm(n), -3), 3)
    # the test helper's other columns, drawn to keep its random stream
    g <- sample(c("a", "b"), n, TRUE)
    rbinom(n, 1, stats::plogis(-0.3 + 0.8 * x1 - 0.5 * x2 + 0.6 * (g == "b")))
    rnorm(n)
    data.frame(x1, x2)
  })
  set.seed(5)
  for (i in 1:3) d[[i]]$k <- rpois(1500, exp(0.5 + 0.3 * d[[i]]$x1))
  do.call(rbind, d)
}
D <- make_data()
M <- 12
U <- cbind(1, D$x1 / 3, D$x2 / 3)
y <- pmin(D$k, M)
p <- ncol(U)
ref <- glm(k ~ x1 + x2, poisson(), D)
J <- diag(c(1, 1 / 3, 1 / 3))
ghat <- solve(J, coef(ref))
rho <- dsMHE:::mhe_glm_dp_rho_for_epsilon(10, 1e-6)
C2 <- p
package_plan <- dsMHE:::mhe_glm_dp_plan("poisson")

at <- function(g) {
  mu <- pmin(exp(drop(U %*% g)), M)
  list(A = crossprod(U, U * mu), s = drop(crossprod(U, y - mu)))
}
noisy_upper <- function(A, sd) {
  A[upper.tri(A, diag = TRUE)] + rnorm(p * (p + 1) / 2, 0, sd)
}

fit <- function(variant, plan = package_plan) {
  g <- numeric(p)
  iterates <- list()
  for (k in seq_along(plan$fractions)) {
    l <- plan$scales[k]
    d2 <- if (l > 0) l^2 * M^2 * (C2^2 + C2) / 2 + C2 * M^2 + 1 else C2 * M^2
    V <- 3 * d2 / (2 * plan$fractions[k] * rho)
    t <- at(g)
    if (l > 0) {
      sd_A <- sqrt(V) / l
      A <- matrix_fn(noisy_upper(t$A, sd_A), p, sd_A)
    }
    if (variant == "oracle" && l == 0) {
      A <- t$A
      sd_A <- 0
    }
    s <- t$s + rnorm(p, 0, sqrt(V))
    step <- solve(A, s)
    if (k == 1L && variant != "newton" && variant != "oracle") {
      g1 <- start_fn(A, s, 1, 1)
      if (!is.null(g1)) step <- g1 - g
    }
    g <- g + step
    iterates[[k]] <- g - ghat
  }
  Ai <- solve(A)
  ed <- sd_A^2 * (sum(step^2) * diag(p) + outer(step, step) - diag(step^2, p))
  cov <- Ai + V * Ai %*% Ai + Ai %*% ed %*% Ai
  se <- sqrt(diag(J %*% cov %*% t(J)))
  noise_sd <- sqrt(diag(J %*% (cov - Ai) %*% t(J)))
  diff <- drop(J %*% g) - coef(ref)
  c(z = diff / se, e1 = iterates[[1]], e3 = iterates[[3]],
    ratio = se / sqrt(diag(vcov(ref))), nz = diff / noise_sd)
}

fmt <- function(x, d = 2) paste(formatC(x, digits = d, format = "f"), collapse = "/")
cat("draws:", draws, " rho:", signif(rho, 5), "\n")
# without noise: the matrix rounds' noise sd per value, A's diagonal at 0 and
# at glm()'s estimate, the Newton iterates' errors from 0, the slopes' ratio
d2 <- M^2 * (C2^2 + C2) / 2 + C2 * M^2 + 1
cat("matrix noise sd per round:", fmt(sqrt(3 * d2 / (2 * package_plan$fractions[1:3] * rho)), 0),
    "| diag A at 0:", fmt(diag(at(numeric(p))$A), 0), "at the estimate:", fmt(diag(at(ghat)$A), 0), "\n")
g <- numeric(p)
for (k in 1:3) {
  t0 <- at(g)
  g <- g + solve(t0$A, t0$s)
  if (k == 1L) cat("Newton step 1 slopes / glm's:", fmt(g[-1L] / ghat[-1L]), "\n")
  cat("exact Newton from 0, error after round", k, ":", fmt(g - ghat, 3), "\n")
}
plans <- list(
  newton = package_plan, oracle = package_plan, loglin = package_plan,
  early = list(fractions = c(0.1, 0.1, 0.1, 0.7), scales = c(1, 1, 1, 0)),
  five = list(fractions = c(0.04, 0.04, 0.04, 0.04, 0.84), scales = c(1, 1, 1, 1, 0))
)
for (variant in names(plans)) {
  set.seed(11)
  r <- t(replicate(draws, fit(variant, plans[[variant]])))
  z <- r[, 1:3]
  m <- apply(abs(z), 1L, max)
  cat(sprintf(
    "%-7s max|z|: median %.2f p90 %.2f p99 %.2f max %.2f | P(|z|>4) %s | sd z %s | rms err r1 %s r3 %s | se/glm %s | noise z rms %s\n",
    variant, median(m), quantile(m, 0.9), quantile(m, 0.99), max(m), fmt(colMeans(abs(z) > 4), 3),
    fmt(apply(z, 2L, sd)), fmt(sqrt(colMeans(r[, 4:6]^2))), fmt(sqrt(colMeans(r[, 7:9]^2))),
    fmt(colMeans(r[, 10:12])), fmt(sqrt(colMeans(r[, 13:15]^2)))
  ))
}
