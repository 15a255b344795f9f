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
#'   model, from the fitted values at `start`) or `"step"` (at `beta`).
#' @param model `"full"` or `"null"` (intercept only, with the offset: for the
#'   null deviance of a model with an offset).
#' @param beta,start `NULL` or coefficients (of the fitted model, and of the
#'   full model for `start`) as comma-separated hex of doubles.
#' @param wtdmu `NULL` or the pooled weighted mean of the response (hex), at
#'   which the site computes its null-deviance term.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheGLMDS <- function(formula, family, data, weights = NULL, offset = NULL, levels = NULL,
                     round = "init", model = "full", beta = NULL, start = NULL,
                     wtdmu = NULL, query, sites) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  local <- srv_glm_site_values(env, site, formula, family, data, weights, offset, levels,
                           round, model, beta, start, wtdmu)
  srv_contribute(party, site, query, paste0("glm-", model, "-", round), local$variables, sites,
                 local$values, call = match.call())
}
