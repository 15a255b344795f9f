# Kaplan-Meier at the analyst: estimates from the pooled counts --------------
#
# The grid convention and the counts are described in server-survival.R.

# Kaplan-Meier for one stratum from pooled counts per interval ending at
# `points`: events `d`, censored at the end point `at`, censored strictly
# inside `inside` (half of them at risk at the end point), `beyond` still at
# risk after the last point. Only points with an event or a censored time are
# kept, as survfit() does.
mhe_km_stratum <- function(points, d, at, inside, beyond) {
  leaving <- d + at + inside
  n <- sum(leaving) + beyond
  n_risk <- n - c(0, cumsum(leaving)[-length(leaving)]) - inside / 2
  keep <- leaving > 0
  d <- d[keep]
  n_risk <- n_risk[keep]
  hazard <- d / n_risk
  list(
    n = n,
    time = points[keep],
    n.risk = n_risk,
    n.event = d,
    n.censor = at[keep] + inside[keep],
    surv = cumprod(1 - hazard),
    # Greenwood's variance of log S (Inf once everyone at risk had the event)
    std.err = sqrt(cumsum(d / (n_risk * (n_risk - d)))),
    cumhaz = cumsum(hazard),
    std.chaz = sqrt(cumsum(d / n_risk^2))
  )
}

# Pointwise confidence limits for S from the standard error of log S.
mhe_km_confint <- function(surv, se, level, type) {
  z <- stats::qnorm(1 - (1 - level) / 2)
  inside <- surv > 0 & surv < 1
  switch(type,
    "log-log" = {
      u <- ifelse(inside, log(-log(surv)), NA_real_)
      w <- z * se / log(surv)
      list(lower = exp(-exp(u - w)), upper = exp(-exp(u + w)))
    },
    log = {
      defined <- ifelse(surv > 0, 1, NA_real_)
      list(lower = surv * exp(-z * se) * defined, upper = pmin(surv * exp(z * se), 1) * defined)
    },
    plain = {
      half <- z * se * surv
      list(lower = pmax(surv - half, 0), upper = pmin(surv + half, 1))
    }
  )
}

# The merged grid for the default: walk the coarse points, closing an
# interval once every stratum that has events holds at least `threshold`
# (suppressed, so lower-bound) pooled events in it; what is left after the
# last closed interval joins it, so the grid ends at the last coarse point.
mhe_km_merge_grid <- function(points, events, needed, threshold) {
  acc <- numeric(ncol(events))
  close <- integer()
  for (k in seq_along(points)) {
    acc <- acc + events[k, ]
    if (all(acc[needed] >= threshold)) {
      close <- c(close, k)
      acc[] <- 0
    }
  }
  if (!length(close)) {
    return(NULL)
  }
  close[length(close)] <- length(points)
  points[close]
}

# Differential privacy (issue 14; rust/mhe/DP.md, section 11) -----------------

# The coding of `event` from noisy tallies: the code that is absent has only
# noise, so the larger of the two counts decides (each site still checks
# its own codes against the coding).
mhe_km_dp_coding <- function(tallies, call = rlang::caller_env()) {
  if (sum(tallies[1L, ]) <= 0) {
    mhe_abort("No site has a complete row of {.arg time} and {.arg event}.", class = "input",
              call = call)
  }
  if (sum(tallies[3L, ]) > sum(tallies[2L, ])) "12" else "01"
}

# Kaplan-Meier for one stratum from noisy cells (noise variance `V` per cell):
# at-risk numbers from the cells (post-processing), events clamped to
# [0, n at risk], the curve stopped where the at-risk number is below twice
# its noise sd (or 1), and the variances of log S and of the cumulative hazard
# with the noise added by the delta method over the cells (DP.md 11.3).
mhe_km_dp_stratum <- function(points, d, at, inside, beyond, V) {
  m <- length(points)
  leaving <- d + at + inside
  n_risk <- beyond + rev(cumsum(rev(leaving))) - inside / 2
  # cells in n_k: 3 per interval from k on and beyond, inside_k at weight 1/2
  var_n <- V * (3 * (m - seq_len(m) + 1) + 1 / 4)
  low <- which(n_risk < pmax(1, 2 * sqrt(var_n)))
  K <- if (length(low)) low[1L] - 1L else m
  keep <- seq_len(K)
  n <- n_risk[keep]
  dd <- pmin(pmax(d[keep], 0), n)
  q <- dd / (n * (n - dd))
  Q <- cumsum(q)
  h2 <- dd / n^2
  H2 <- cumsum(h2)
  j <- seq_len(m)
  noise_log <- noise_haz <- numeric(K)
  for (k in keep) {
    before <- j <= k
    at_j <- pmin(j, k)
    g_d <- Q[at_j] - ifelse(before, 1 / (n[at_j] - dd[at_j]), 0)
    g_a <- Q[at_j]
    g_c <- Q[at_j] - ifelse(before, q[at_j] / 2, 0)
    noise_log[k] <- V * (sum(g_d^2 + g_a^2 + g_c^2) + Q[k]^2)
    h_d <- ifelse(before, 1 / n[at_j], 0) - H2[at_j]
    h_c <- -H2[at_j] + ifelse(before, h2[at_j] / 2, 0)
    noise_haz[k] <- V * (sum(h_d^2 + H2[at_j]^2 + h_c^2) + H2[k]^2)
  }
  hazard <- dd / n
  list(
    n = max(0, beyond + sum(leaving)),
    time = points[keep],
    n.risk = n,
    n.event = dd,
    n.censor = pmax(at[keep] + inside[keep], 0),
    surv = cumprod(1 - hazard),
    # Greenwood's variance of log S plus the noise's
    std.err = sqrt(Q + noise_log),
    cumhaz = cumsum(hazard),
    std.chaz = sqrt(H2 + noise_haz),
    dp.std.err = sqrt(noise_log)
  )
}
