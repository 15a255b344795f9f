#' Encrypted contribution to one IRLS round of a GLM (server side)
#'
#' Used by [ds.mheGLM()]. The site parses and checks the formula (see
#' [mheGLMLevelsDS()]), builds the model from `data` as `glm()` would (complete
#' cases; categorical variables as factors with the agreed `levels`;
#' treatment contrasts), applies its disclosure checks (at most
#' `nfilter.glm` parameters per observation, as dsBase; the outcome, every
#' model-matrix column, the weights and the offset must each spread over at
#' least `nfilter.tab` effective rows, `(sum |d|)^2 / sum(d^2)` with `d` the
#' deviations from the column's median, which for a binary column is dsBase's
#' small-class rule; the IRLS working weights `W` of the round must spread
#' likewise, `(sum W)^2 / sum(W^2) >= nfilter.tab`, so that no coefficients
#' chosen by the analyst put the weight on one row), and encrypts:
#' the upper triangle of \eqn{X'WX} and \eqn{X'Wz} at the current linear
#' predictor, then the deviance there, whether the step is out of bounds, the
#' number of rows and of rows with nonzero weight, the sums of weights times
#' response and of weights, the family's AIC term, whether fitted values are
#' numerically 0 or 1, the null-deviance term, and the number of complete cases
#' at each agreed level.
#'
#' @inheritParams mheGLMLevelsDS
#' @inheritParams mheMeanDS
#' @param family `"gaussian"`, `"binomial"` or `"poisson"` (canonical link).
#' @param weights,offset `NULL` or the name of a numeric column of `data`.
#' @param levels `NULL`, or the agreed levels of the categorical variables:
#'   base64url of lines `=<column>` followed by `.<level>` lines.
#' @param round `"init"` (from the family's starting values; for the null
#'   model, from the fitted values at `start`), `"step"` (at `beta`) or
#'   `"dp"`: under differential privacy, at `beta` on the columns mapped to
#'   \eqn{[-1, 1]} by the analyst's `bounds`, `scale` times the upper
#'   triangle of \eqn{U'WU}, the score \eqn{U'(y - \mu)}, the sum of the
#'   squared scaled responses (gaussian) and the number of rows (when
#'   `scale` is positive), with the sensitivity of `rust/mhe/DP.md` section 10.
#' @param model `"full"` or `"null"` (intercept only, with the offset: for the
#'   null deviance of a model with an offset).
#' @param beta,start `NULL` or coefficients (of the fitted model, and of the
#'   full model for `start`) as comma-separated hex of doubles.
#' @param wtdmu `NULL` or the pooled weighted mean of the response (hex), at
#'   which the site computes its null-deviance term.
#' @param bounds With `round = "dp"`: the analyst's bounds of the numeric
#'   variables, `"D$x:lower:upper"` joined by `;` (they map the columns; the
#'   effective bounds, intersected with the admin's, clip them).
#' @param epsilon With `round = "dp"`: the whole fit's epsilon (at most the
#'   site's `mhe.dp.query.epsilon`, its default).
#' @param share With `round = "dp"`: this round's share of the fit's zCDP
#'   cost, in (0, 1].
#' @param scale With `round = "dp"`: the factor of \eqn{U'WU}, from 0 to 1
#'   (0: the score only).
#' @param norm With `round = "dp"`: `NULL` or a number above
#'   `intercept_scale^2` (with an intercept; else above 0): each row's terms
#'   are weighted by \eqn{\min(1, norm / \|u\|^2)}, \eqn{u} the scaled row
#'   intercept included.
#' @param intercept_scale With `round = "dp"`: `NULL` (1) or a number in
#'   (0, 1], the value of the scaled model matrix's intercept column.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheGLMDS <- function(formula, family, data, weights = NULL, offset = NULL, levels = NULL,
                     round = "init", model = "full", beta = NULL, start = NULL,
                     wtdmu = NULL, query, sites, bounds = NULL, epsilon = NULL, share = NULL,
                     scale = NULL, norm = NULL, intercept_scale = NULL) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  dp <- list(bounds = bounds, epsilon = epsilon, share = share, scale = scale, norm = norm,
             intercept_scale = intercept_scale)
  local <- srv_glm_site_values(env, site, formula, family, data, weights, offset, levels,
                           round, model, beta, start, wtdmu, dp = dp)
  srv_contribute(party, site, query, paste0("glm-", model, "-", round), local$variables, sites,
                 local$values, call = match.call(), sensitivity = local$sensitivity,
                 epsilon = local$epsilon)
}
