# Design study (issue 14): a binomial GLM fitted by IRLS on noisy pooled
# rounds, against glm() on the same pooled rows. Plain R, no federation: the
# pooled round is computed directly, and the noise is a continuous Gaussian of
# the variance the sites' discrete Gaussian shares add up to (the discrete
# Gaussian at the fixed-point scales dsMHE uses, sigma in the millions of grid
# units, has the normal's variance to double precision; DP.md section 2). The
# derivation this checks is rust/mhe/DP.md, section 10.
#
# Rscript inst/bench/dp-glm-design.R [reps] [rows_per_site]
#
# Prints, per design variant and data size, over `reps` noise draws: the
# median and 90th percentile over draws of max_j |b_j - glm_j| / se_j (se_j:
# glm()'s standard error), the share of draws where that maximum is below
# 0.5, and the median of the per-coefficient ratio; the largest ratio of the
# reported standard error (noise included) to glm()'s; and the rms over draws
# and coefficients of (b_j - glm_j) / (the noise sd the client reports): 1
# when the reported noise variance accounts for the whole difference; for
# the weighted designs, the share of rows weighted and max_j |b_j - glm_j| /
# se_j of glm(weights = omega) without noise (the weighting's own difference).

args <- commandArgs(TRUE)
reps <- if (length(args)) as.integer(args[1]) else 200L
rows_list <- if (length(args) > 1L) as.numeric(strsplit(args[2], ",")[[1]]) else c(1e5, 3e5, 1e6)

# zCDP -> (epsilon, delta), CKS Corollary 13 form (DP.md section 5), and its
# inverse by bisection.
dp_epsilon_of_rho <- function(rho, delta) {
  f <- function(s) {
    a <- 1 + exp(s)
    a * rho + (log(1 / delta) - log(a)) / (a - 1) + log(1 - 1 / a)
  }
  tight <- stats::optimize(f, c(-30, 30), tol = 1e-12)$objective
  min(tight, rho + 2 * sqrt(rho * log(1 / delta)))
}
dp_rho_for_epsilon <- function(epsilon, delta) {
  lo <- 0
  hi <- epsilon
  for (i in 1:100) {
    mid <- (lo + hi) / 2
    if (dp_epsilon_of_rho(mid, delta) <= epsilon) lo <- mid else hi <- mid
  }
  lo
}

# The data: K sites, p covariates. "normal": the bench's 10 N(0, 1)
# covariates (truncated to the declared bounds [-4, 4]); "mixed": 5 normal
# (bounds [-4, 4]) and 5 binary (bounds [0, 1], prevalence 0.1 to 0.5).
make_data <- function(n, p = 10L, kind = "normal", seed = 2) {
  set.seed(seed)
  beta <- c(-0.5, seq(-0.5, 0.5, length.out = p))
  x <- matrix(rnorm(n * p), n, p)
  lo <- rep(-4, p)
  hi <- rep(4, p)
  if (kind == "mixed") {
    b <- 6:p
    prev <- seq(0.1, 0.5, length.out = length(b))
    x[, b] <- vapply(prev, function(q) rbinom(n, 1L, q), numeric(n))
    lo[b] <- 0
    hi[b] <- 1
  }
  x <- pmin(pmax(x, rep(lo, each = n)), rep(hi, each = n))
  y <- rbinom(n, 1L, plogis(drop(cbind(1, x) %*% beta)))
  list(x = x, y = y, lo = lo, hi = hi)
}

# Covariates mapped to [-1, 1] by the public bounds: u = (x - m) / r. A fit
# on (kappa, u) is the same model; b_x = b_u / r and the intercept
# b_0 = kappa g_0 - sum(b_x m).
to_unit <- function(d) {
  m <- (d$lo + d$hi) / 2
  r <- (d$hi - d$lo) / 2
  list(u = cbind(1, sweep(sweep(d$x, 2, m), 2, r, "/")), m = m, r = r)
}
from_unit <- function(b, m, r, kappa = 1) {
  slope <- b[-1] / r
  c(kappa * b[1] - sum(slope * m), slope)
}
# The covariance of the back-transformed coefficients (a linear map J).
jacobian <- function(m, r, kappa = 1) {
  J <- diag(c(kappa, 1 / r))
  J[1, -1] <- -m / r
  J
}

# The rows' weights of design G: min(1, norm2 / ||u||^2), u with the
# intercept coordinate kappa (DP.md 10.2); all 1 without `wnorm`.
row_weights <- function(U, wnorm) {
  if (is.null(wnorm)) rep(1, nrow(U)) else pmin(1, wnorm / rowSums(U^2))
}

# One noisy IRLS run. Round k releases, summed over all rows, the upper
# triangle of lambda_k * U'(omega W)U and the score U'(omega (y - mu)) (plus,
# when lambda_k > 0, the number of rows), with Gaussian noise of variance V_k
# per value, V_k = (K / h) * Delta_k^2 / (2 rho_k): the pooled variance of K
# shares calibrated with SumOfHonestShares (DP.md 4.3, 7). Delta_k^2 =
# lambda_k^2 (1/4)^2 (C^4 + C^2) / 2 + C^2 (+ 1 for the count), C^2 = kappa^2
# + p for a row of (kappa, u) with |u_j| <= 1, or the row clip `norm2`
# (design F: covariates scaled down, the package's former `norm`), or
# min(wnorm, kappa^2 + p) with the weights of design G (DP.md 10.2). A round
# with lambda_k = 0 releases the score only and the last matrix is reused.
# The noisy matrix is symmetrised and its eigenvalues floored (post-processing,
# at floor_mult x the Wigner norm; the package's 0.5).
noisy_fit <- function(U, y, rho, fractions, lambdas, K, h, norm2 = NULL, floor_mult = 0.5,
                      kappa = 1, wnorm = NULL) {
  p1 <- ncol(U)
  U[, 1] <- kappa
  C2 <- kappa^2 + p1 - 1
  if (!is.null(norm2)) {
    # a row's covariates scaled down to squared norm norm2 - 1 when longer
    # (the intercept stays 1): C^2 = norm2
    len2 <- rowSums(U[, -1, drop = FALSE]^2)
    shrink <- ifelse(len2 > norm2 - 1, sqrt((norm2 - 1) / len2), 1)
    U[, -1] <- U[, -1] * shrink
    C2 <- norm2
  }
  omega <- row_weights(U, wnorm)
  if (!is.null(wnorm)) C2 <- min(wnorm, C2)
  beta <- numeric(p1)
  A_keep <- NULL
  upper <- upper.tri(diag(p1), diag = TRUE)
  for (k in seq_along(fractions)) {
    eta <- drop(U %*% beta)
    mu <- plogis(eta)
    W <- mu * (1 - mu)
    delta2 <- lambdas[k]^2 * (C2^2 + C2) / 2 / 16 + C2 + (lambdas[k] > 0)
    V <- (K / h) * delta2 / (2 * rho * fractions[k])
    noise <- sqrt(V)
    s <- drop(crossprod(U, omega * (y - mu))) + rnorm(p1, 0, noise)
    if (lambdas[k] > 0) {
      E <- matrix(0, p1, p1)
      E[upper] <- rnorm(sum(upper), 0, noise / lambdas[k])
      E[lower.tri(E)] <- t(E)[lower.tri(E)]
      A <- crossprod(U, U * (omega * W)) + E
      # floor the eigenvalues at floor_mult x the spectral norm a symmetric
      # noise matrix of this sd reaches (about 2 sqrt(p) sd, Wigner)
      ev <- eigen(A, symmetric = TRUE)
      fl <- floor_mult * 2 * sqrt(p1) * noise / lambdas[k]
      A_keep <- ev$vectors %*% (pmax(ev$values, fl) * t(ev$vectors))
    }
    beta <- beta + solve(A_keep, s)
    s_var <- V
  }
  # covariance: sampling (A^-1) plus the last score's noise (V A^-2)
  Ai <- solve(A_keep)
  list(beta = beta, cov = Ai + s_var * Ai %*% Ai, noise_cov = s_var * Ai %*% Ai)
}

designs <- list(
  "A: uniform, 6 rounds" = list(fractions = rep(1 / 6, 6), lambdas = rep(1, 6)),
  "B: last-heavy, 4 rounds" = list(fractions = c(0.1, 0.1, 0.1, 0.7), lambdas = rep(1, 4)),
  "C: as B, last round score only" = list(
    fractions = c(0.1, 0.1, 0.15, 0.65), lambdas = c(1, 1, 1, 0)
  ),
  "E: as C, split 0.05/0.05/0.1/0.8" = list(
    fractions = c(0.05, 0.05, 0.1, 0.8), lambdas = c(1, 1, 1, 0)
  ),
  "F: as E, rows clipped to a norm" = list(
    fractions = c(0.05, 0.05, 0.1, 0.8), lambdas = c(1, 1, 1, 0), norm2 = TRUE
  ),
  "Gk: as E, intercept_scale only" = list(
    fractions = c(0.05, 0.05, 0.1, 0.8), lambdas = c(1, 1, 1, 0), kappa = TRUE
  ),
  "G1: as E, rows weighted, kappa 1" = list(
    fractions = c(0.05, 0.05, 0.1, 0.8), lambdas = c(1, 1, 1, 0), wnorm = c(2, 6.5)
  ),
  "G: as E, rows weighted, intercept_scale" = list(
    fractions = c(0.05, 0.05, 0.1, 0.8), lambdas = c(1, 1, 1, 0), kappa = TRUE, wnorm = TRUE
  )
)
# Design G's settings (the package's `intercept_scale` and `norm`): normal
# data, kappa 0.25 (a N(0, 1) covariate within [-4, 4] spreads 0.25 in u)
# and norm 1.25 (kappa^2 + 10 / 16 is the typical squared norm: 0.69);
# mixed, kappa 0.5 and 5.75 (the 5 binary columns are +-1: squared norm 5).
# G1 (kappa 1): norm 2 (normal) and 6.5 (mixed), the same margin above 1
# plus the typical squared norm.
kappa_of <- function(kind) if (kind == "normal") 0.25 else 0.5
wnorm_of <- function(kind, des) {
  if (is.null(des$wnorm)) {
    return(NULL)
  }
  if (is.numeric(des$wnorm)) {
    return(des$wnorm[if (kind == "normal") 1L else 2L])
  }
  if (kind == "normal") 1.25 else 5.75
}
# The row clip of F: the scaled covariates' squared norm at most 2.5 (normal
# data: 40 in standard units, chi-square(10) beyond it with probability 1.5e-5)
# or 5 + 2 (mixed: the 5 binary columns are +-1, the 5 normal ones at most 32
# standard units, probability 5e-6).
norm2_of <- function(kind) if (kind == "normal") 3.5 else 8
options(width = 200)

epsilon <- 1
delta <- 1e-6
rho <- dp_rho_for_epsilon(epsilon, delta)
cat(sprintf("epsilon %g, delta %g: rho %.6f\n", epsilon, delta, rho))
K <- 3
out <- list()
for (kind in c("normal", "mixed")) for (per_site in rows_list) for (h in c(2, 1)) {
  if (kind == "mixed" && h == 1) next
  n <- K * per_site
  d <- make_data(n, kind = kind)
  ref <- glm(d$y ~ d$x, family = binomial())
  b_ref <- unname(coef(ref))
  se_ref <- unname(sqrt(diag(vcov(ref))))
  t <- to_unit(d)
  for (name in names(designs)) {
    des <- designs[[name]]
    kappa <- if (isTRUE(des$kappa)) kappa_of(kind) else 1
    wnorm <- wnorm_of(kind, des)
    J <- jacobian(t$m, t$r, kappa)
    # the weighting's own difference to glm(): glm(weights = omega), no noise
    U <- t$u
    U[, 1] <- kappa
    omega <- row_weights(U, wnorm)
    wdiff <- if (is.null(wnorm)) 0 else {
      bw <- suppressWarnings(coef(glm(d$y ~ d$x, family = binomial(), weights = omega)))
      max(abs(bw - b_ref) / se_ref)
    }
    set.seed(7)
    res <- replicate(reps, {
      f <- noisy_fit(t$u, d$y, rho, des$fractions, des$lambdas, K, h,
                     if (isTRUE(des$norm2)) norm2_of(kind), kappa = kappa, wnorm = wnorm)
      b <- from_unit(f$beta, t$m, t$r, kappa)
      se <- sqrt(diag(J %*% f$cov %*% t(J)))
      noise_sd <- sqrt(diag(J %*% f$noise_cov %*% t(J)))
      c(max(abs(b - b_ref) / se_ref), median(abs(b - b_ref) / se_ref), max(se / se_ref),
        mean(((b - b_ref) / noise_sd)^2))
    })
    out[[length(out) + 1L]] <- data.frame(
      data = kind, rows = n, h = h, design = name,
      max_median = median(res[1, ]), max_q90 = unname(quantile(res[1, ], 0.9)),
      share_below_half = mean(res[1, ] < 0.5), coef_median = median(res[2, ]),
      se_ratio = median(res[3, ]), noise_z_rms = sqrt(mean(res[4, ])),
      weighted_rows = mean(omega < 1), weighting_max = wdiff
    )
    print(out[[length(out)]], row.names = FALSE, digits = 3)
  }
}
out <- do.call(rbind, out)
print(out, row.names = FALSE, digits = 3)
invisible(out)
