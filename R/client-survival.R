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
